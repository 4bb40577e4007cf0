"""The WorkspaceHost contract, run the same on this machine and over SSH.

The SSH host is this machine behind a real OpenSSH server, so the tests check
what happened "on the host" by reading the files directly.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.conftest import git
from tests.support.hosts import RunTracker, target_for
from tests.support.sshd import SshServer
from worksite.providers import git as git_ops
from worksite.providers.host import WorkspaceHost, wait_ended
from worksite.providers.local import LocalHost
from worksite.providers.ssh import SshLink
from worksite.providers.ssh_host import SshHost
from worksite.runtime import logs, processes
from worksite.runtime.processes import SupervisorError
from worksite.settings import Settings

END_TIMEOUT = 30.0


@pytest.fixture(params=["local", "ssh"])
async def host(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[WorkspaceHost]:
    root = tmp_path / "host-root"
    if request.param == "local":
        settings = Settings(data_dir=tmp_path / "data", database_url="", operator_token="unused")
        yield LocalHost(settings, str(root))
        return
    sshd: SshServer = request.getfixturevalue("sshd")
    link = SshLink(target_for(sshd))
    try:
        yield SshHost(link, str(root))
    finally:
        await link.close()


@pytest.fixture
async def runs() -> AsyncIterator[RunTracker]:
    tracker = RunTracker()
    try:
        yield tracker
    finally:
        await tracker.stop_all()


# Repositories and worktrees


async def test_worktrees_are_made_from_a_checkout_on_the_host(
    host: WorkspaceHost, git_repo: Path
) -> None:
    repo = await host.repository("", str(git_repo))
    commit = await host.resolve_commit(repo, "main")
    branch = await host.free_branch(repo, "PAP-1-fix")
    path = await host.free_worktree_path("PAP", branch)

    output = await host.add_worktree(repo, path, branch, commit)

    assert repo == str(git_repo)
    assert commit == git(git_repo, "rev-parse", "main")
    assert path == f"{host.root}/PAP/PAP-1-fix"
    assert output.startswith("HEAD is now at")
    assert (Path(path) / "app.py").exists()
    assert await host.current_branch(path) == "PAP-1-fix"
    assert await host.branch_exists(repo, "PAP-1-fix")
    assert await host.free_branch(repo, "PAP-1-fix") == "PAP-1-fix-2"
    assert await host.free_worktree_path("PAP", "PAP-1-fix") == f"{path}-2"
    assert await host.is_dir(path)


async def test_a_repository_is_cloned_on_the_host_once_from_its_url(
    host: WorkspaceHost, git_repo: Path
) -> None:
    url = f"file://{git_repo}"

    first = await host.repository(url, "")
    again = await host.repository(url, "")

    assert first == again != str(git_repo)
    assert git(Path(first), "rev-parse", "main") == git(git_repo, "rev-parse", "main")


async def test_an_unknown_ref_and_a_bad_url_are_git_errors(
    host: WorkspaceHost, git_repo: Path, tmp_path: Path
) -> None:
    with pytest.raises(git_ops.GitError, match="does not name a commit"):
        await host.resolve_commit(str(git_repo), "no-such-branch")
    with pytest.raises(git_ops.GitError, match="could not clone"):
        await host.repository(f"file://{tmp_path}/missing", "")


async def test_clones_refuse_transports_that_run_commands(
    host: WorkspaceHost, tmp_path: Path
) -> None:
    marker = tmp_path / "ran"

    with pytest.raises(git_ops.GitError, match="could not clone"):
        await host.repository(f"ext::sh -c touch% {marker}", "")

    assert not marker.exists()


async def test_close_work_is_measured_saved_and_removed(
    host: WorkspaceHost, git_repo: Path
) -> None:
    path = await _worktree(host, git_repo, "PAP-2-work")
    clean = await host.worktree_state(str(git_repo), path, "PAP-2-work", "main")
    Path(path, "app.py").write_text("print('committed')\n")
    git(Path(path), "commit", "--quiet", "-am", "work")
    Path(path, "app.py").write_text("print('dirty')\n")
    Path(path, "notes.txt").write_text("untracked\n")

    state = await host.worktree_state(str(git_repo), path, "PAP-2-work", "main")
    commit = await host.save_work(str(git_repo), path, "PAP-2-work", "refs/worksite/archive/test")
    removed = await host.remove_worktree(str(git_repo), path)
    kept = await host.delete_branch_if_merged(str(git_repo), "PAP-2-work", "main")
    after = await host.worktree_state(str(git_repo), path, "PAP-2-work", "main")

    assert clean == git_ops.WorktreeState(True, "PAP-2-work", True, 0, 0, 0, 0)
    assert state == git_ops.WorktreeState(True, "PAP-2-work", True, 1, 1, 1, 0)
    assert git(git_repo, "rev-parse", "refs/worksite/archive/test") == commit
    assert git(git_repo, "show", f"{commit}:app.py") == "print('dirty')"
    assert git(git_repo, "show", f"{commit}:notes.txt") == "untracked"
    assert removed == f"removed {path}"
    assert not Path(path).exists()
    assert kept == "kept branch PAP-2-work: it is not merged into main"
    assert after == git_ops.WorktreeState(False, None, True, 0, 0, 1, 0)


async def test_a_merged_branch_is_deleted_and_a_gone_worktree_restored(
    host: WorkspaceHost, git_repo: Path
) -> None:
    path = await _worktree(host, git_repo, "PAP-3-merged")
    shutil.rmtree(path)

    restored = await host.restore_worktree(str(git_repo), path, "PAP-3-merged")
    await host.remove_worktree(str(git_repo), path)
    deleted = await host.delete_branch_if_merged(str(git_repo), "PAP-3-merged", "main")

    assert restored.startswith("HEAD is now at")
    assert deleted == "deleted branch PAP-3-merged (merged into main)"
    assert not await host.branch_exists(str(git_repo), "PAP-3-merged")


async def _worktree(host: WorkspaceHost, repo: Path, branch: str) -> str:
    path = await host.free_worktree_path("PAP", branch)
    await host.add_worktree(str(repo), path, branch, "main")
    return path


# Supervised commands


async def test_a_supervised_command_runs_to_its_exit_code_with_its_logs(
    host: WorkspaceHost, runs: RunTracker, tmp_path: Path
) -> None:
    run_dir = runs.watch(host, host.run_dir("ws/job-1"))
    script = "echo out; echo 'ü tail'; exit 3"

    started = await host.spawn_supervised(
        run_dir, ["/bin/sh", "-c", script], str(tmp_path), await host.base_env(), 5.0
    )
    ended = await wait_ended(host, run_dir, END_TIMEOUT)

    assert started.child_pid is not None
    assert (ended.exit_code, ended.signal, ended.stopped) == (3, None, False)
    whole = await host.read_log(run_dir, 0, 1 << 16)
    assert whole.content == "out\nü tail\n"
    assert whole.next_offset == len(whole.content.encode())
    # A read that would end inside "ü" stops before it, and the next one resumes there.
    head = await host.read_log(run_dir, 0, 5)
    rest = await host.read_log(run_dir, head.next_offset, 1 << 16)
    assert (head.content, rest.content) == ("out\n", "ü tail\n")


async def test_the_server_keeps_a_copy_of_the_logs_with_the_same_offsets(
    host: WorkspaceHost, runs: RunTracker, tmp_path: Path
) -> None:
    run_dir = runs.watch(host, host.run_dir("ws/job-2"))
    copy = tmp_path / "copy" if isinstance(host, SshHost) else Path(run_dir)
    await host.spawn_supervised(
        run_dir,
        ["/bin/sh", "-c", "echo one; echo two >&2; echo three"],
        str(tmp_path),
        await host.base_env(),
        5.0,
    )
    await wait_ended(host, run_dir, END_TIMEOUT)

    await host.mirror_logs(run_dir, copy)
    again = await host.mirror_logs(run_dir, copy)

    assert again == 0
    output = (copy / "output.log").read_bytes()
    assert sorted(output.splitlines()) == [b"one", b"three", b"two"]
    assert _streams(copy) == {"stdout": b"one\nthree\n", "stderr": b"two\n"}
    assert logs.excerpt(copy, "stderr") == "two"
    assert logs.read(copy, 4).content == (await host.read_log(run_dir, 4, 100)).content


def _streams(run_dir: Path) -> dict[str, bytes]:
    """output.log split back into its streams by output.idx."""
    output = (run_dir / "output.log").read_bytes()
    marks = [line.split() for line in (run_dir / "output.idx").read_text().splitlines()]
    ends = [int(offset) for offset, _ in marks[1:]] + [len(output)]
    streams: dict[str, bytes] = {}
    for (offset, stream), end in zip(marks, ends, strict=True):
        streams[stream] = streams.get(stream, b"") + output[int(offset) : end]
    for stream, data in streams.items():
        assert (run_dir / f"{stream}.log").read_bytes() == data
    return streams


async def test_a_stop_ends_the_command_and_is_recorded(
    host: WorkspaceHost, runs: RunTracker, tmp_path: Path
) -> None:
    run_dir = runs.watch(host, host.run_dir("ws/service-1"))
    state = await host.spawn_supervised(
        run_dir, ["sleep", "600"], str(tmp_path), await host.base_env(), 5.0
    )
    assert await host.is_alive(state)

    assert await host.request_stop(state)
    ended = await wait_ended(host, run_dir, END_TIMEOUT)

    assert ended.stopped and ended.signal == 15
    deadline = time.monotonic() + END_TIMEOUT
    while await host.is_alive(state):  # it exits right after recording the end
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    assert not await host.request_stop(state)


async def test_the_command_gets_exactly_the_environment_it_is_given(
    host: WorkspaceHost, runs: RunTracker, tmp_path: Path
) -> None:
    run_dir = runs.watch(host, host.run_dir("ws/env"))
    env = {**await host.base_env(), "GREETING": "it's $HOME; `x`"}

    await host.spawn_supervised(run_dir, ["env"], str(tmp_path), env, 5.0)
    await wait_ended(host, run_dir, END_TIMEOUT)

    lines = (await host.read_log(run_dir, 0, 1 << 16)).content.splitlines()
    assert "GREETING=it's $HOME; `x`" in lines
    assert {line.split("=", 1)[0] for line in lines} == set(env)


async def test_a_command_that_cannot_start_ends_at_once_with_127(
    host: WorkspaceHost, runs: RunTracker, tmp_path: Path
) -> None:
    run_dir = runs.watch(host, host.run_dir("ws/missing"))

    state = await host.spawn_supervised(
        run_dir, ["no-such-program-here"], str(tmp_path), await host.base_env(), 5.0
    )

    assert state.ended and state.exit_code == 127
    assert "no-such-program-here" in (await host.read_log(run_dir, 0, 4096)).content


async def test_a_command_is_not_started_without_room_for_its_logs(
    host: WorkspaceHost, runs: RunTracker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(processes, "MIN_FREE_BYTES", 1 << 62)  # more than any disk has
    run_dir = runs.watch(host, host.run_dir("ws/full"))
    ran = tmp_path / "ran"

    with pytest.raises(SupervisorError, match=r"the disk of the logs has \d+ bytes free"):
        await host.spawn_supervised(
            run_dir, ["touch", str(ran)], str(tmp_path), await host.base_env(), 5.0
        )

    assert await host.read_state(run_dir) is None
    assert not ran.exists()


# Talking to what runs there


async def test_a_port_on_the_host_is_reached_through_the_host(host: WorkspaceHost) -> None:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"pong " + await reader.readline())
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        reader, writer = await host.open_tcp(port)
        writer.write(b"ping\n")
        await writer.drain()
        reply = await reader.read()
        writer.close()
    finally:
        server.close()
        await server.wait_closed()

    assert reply == b"pong ping\n"
    with pytest.raises(ConnectionRefusedError):
        await host.open_tcp(port)


async def test_a_check_command_runs_in_its_directory_to_its_exit_code(
    host: WorkspaceHost, tmp_path: Path
) -> None:
    env = {**await host.base_env(), "WANTED": str(tmp_path)}
    (tmp_path / "marker").write_text("")

    here = await host.run_check('test "$(pwd)" = "$WANTED"', str(tmp_path), env, 10)
    found = await host.run_check("test -f marker && exit 4", str(tmp_path), env, 10)
    slow = await host.run_check("sleep 30", str(tmp_path), env, 1)

    assert (here, found, slow) == (0, 4, -1)


async def test_directories_are_resolved_through_symlinks(
    host: WorkspaceHost, tmp_path: Path
) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    (tmp_path / "file").write_text("")

    assert await host.real_dir(str(tmp_path / "link")) == str(tmp_path / "real")
    assert await host.real_dir(str(tmp_path / "file")) is None
    assert await host.real_dir(str(tmp_path / "missing")) is None
    assert await host.real_dir(str(tmp_path / "missing" / "deeper")) is None
