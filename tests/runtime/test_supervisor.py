"""The supervisor with real processes: logs, exit status, stopping whole trees."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from worksite.runtime import processes
from worksite.runtime.processes import (
    SUPERVISOR_SCRIPT,
    SupervisorError,
    is_alive,
    read_state,
    request_stop,
    start_ticks,
    wait_ended,
)

if TYPE_CHECKING:
    from conftest import Reaper

END_TIMEOUT = 30.0

# Test commands are small Python programs. RECORD lets one note the pid and start time
# of each of its processes in a file, so the test can check on them (and clean them up).
RECORD = """
import os, sys, time

def record(pid_file):
    stat = open(f"/proc/{os.getpid()}/stat").read()
    ticks = stat[stat.rindex(")") + 2 :].split()[19]
    with open(pid_file, "a") as file:
        file.write(f"{os.getpid()} {ticks}\\n")
"""

# The child and a grandchild that leaves its process group by calling setsid; both
# sleep, and both hold the output pipes.
SETSID_GRANDCHILD = (
    RECORD
    + """
record(sys.argv[1])
if os.fork() == 0:
    os.setsid()
    record(sys.argv[1])
    print("grandchild in a session of its own", flush=True)
    time.sleep(600)
    os._exit(0)
time.sleep(600)
"""
)

# The child double-forks a daemon in a new session, waits until it runs, and exits 0.
DOUBLE_FORKED_DAEMON = (
    RECORD
    + """
record(sys.argv[1])
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        record(sys.argv[1])
        time.sleep(600)
    os._exit(0)
os.wait()
while open(sys.argv[1]).read().count("\\n") < 2:
    time.sleep(0.01)
"""
)

# Notes every SIGTERM in a file and keeps running.
IGNORES_SIGTERM = (
    RECORD
    + """
import signal

def note(signum, frame):
    with open(sys.argv[2], "a") as file:
        file.write("TERM\\n")

signal.signal(signal.SIGTERM, note)
record(sys.argv[1])
while True:
    time.sleep(600)
"""
)

# Writes to stdout and stderr in turns, each part only once the supervisor has copied
# the previous one into output.log, so the arrival order is known.
INTERLEAVED = """
import os, sys, time

output_log = os.path.join(sys.argv[1], "output.log")
written = 0
for fd, text in [
    (1, "out one\\n"), (2, "err one\\n"), (2, "err two\\n"), (1, "out two\\n"),
    (2, "err three\\n"),
]:
    os.write(fd, text.encode())
    written += len(text)
    while os.path.getsize(output_log) < written:
        time.sleep(0.005)
"""

FLOOD_CHUNKS = 160  # per stream, of 64 KiB each: 10 MiB on each stream
FLOOD = f"""
import sys, time

for i in range({FLOOD_CHUNKS}):
    for fd, stream in ((1, sys.stdout.buffer), (2, sys.stderr.buffer)):
        stream.write(f"{{fd}} {{i:013d}}\\n".encode() * 4096)
        stream.flush()
time.sleep(600)
"""


def python(script: str, *args: object) -> list[str]:
    return [sys.executable, "-c", script, *map(str, args)]


def labelled_output(run_dir: Path) -> list[tuple[str, bytes]]:
    """output.log cut into its stream ranges, as output.idx labels them."""
    output = (run_dir / "output.log").read_bytes()
    marks = [line.split() for line in (run_dir / "output.idx").read_text().splitlines()]
    offsets = [int(offset) for offset, _ in marks] + [len(output)]
    return [(stream, output[offsets[i] : offsets[i + 1]]) for i, (_, stream) in enumerate(marks)]


def is_gone(pid: int, ticks: int) -> bool:
    return start_ticks(pid) != ticks


def stat_fields(pid: int | str) -> list[str] | None:
    """Fields 3 and up of /proc/<pid>/stat: state, ppid, pgrp, ...; None when gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat[stat.rindex(")") + 2 :].split()


def parent_of(pid: int) -> int:
    fields = stat_fields(pid)
    assert fields is not None
    return int(fields[1])


def process_group(pid: int) -> int:
    fields = stat_fields(pid)
    assert fields is not None
    return int(fields[2])


def children_of(pid: int) -> set[int]:
    children = set()
    for name in filter(str.isdigit, os.listdir("/proc")):
        fields = stat_fields(name)
        if fields is not None and int(fields[1]) == pid:
            children.add(int(name))
    return children


def vm_peak_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmHWM in /proc/{pid}/status")


# Exit status and output


async def test_failing_command_records_exit_code_and_stderr(reaper: Reaper, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    await reaper.spawn(run_dir, ["sh", "-c", "echo boom >&2; exit 3"], tmp_path)

    ended = await wait_ended(run_dir, END_TIMEOUT)

    assert (ended.exit_code, ended.signal, ended.stopped) == (3, None, False)
    assert ended.error is None
    assert (run_dir / "stderr.log").read_bytes() == b"boom\n"
    assert (run_dir / "stdout.log").read_bytes() == b""


@pytest.mark.parametrize("problem", ["missing command", "missing cwd"])
async def test_command_that_cannot_start_ends_with_127_and_the_reason(
    reaper: Reaper, tmp_path: Path, problem: str
) -> None:
    run_dir = tmp_path / "run"
    argv, cwd = ["true"], tmp_path
    if problem == "missing command":
        argv = ["worksite-no-such-command"]
    else:
        cwd = tmp_path / "no-such-dir"

    state = await reaper.spawn(run_dir, argv, cwd)

    assert state.ended and state.exit_code == 127 and state.child_pid is None
    assert state.error is not None and "No such file or directory" in state.error
    stderr = (run_dir / "stderr.log").read_text()
    assert "No such file or directory" in stderr
    assert labelled_output(run_dir) == [("stderr", stderr.encode())]


async def test_output_index_labels_interleaved_stdout_and_stderr(
    reaper: Reaper, tmp_path: Path
) -> None:
    run_dir = tmp_path / "run"
    await reaper.spawn(run_dir, python(INTERLEAVED, run_dir), tmp_path)

    ended = await wait_ended(run_dir, END_TIMEOUT)

    assert ended.exit_code == 0
    assert labelled_output(run_dir) == [
        ("stdout", b"out one\n"),
        ("stderr", b"err one\nerr two\n"),
        ("stdout", b"out two\n"),
        ("stderr", b"err three\n"),
    ]
    assert (run_dir / "output.idx").read_text() == ("0 stdout\n8 stderr\n24 stdout\n32 stderr\n")
    assert (run_dir / "stdout.log").read_bytes() == b"out one\nout two\n"
    assert (run_dir / "stderr.log").read_bytes() == b"err one\nerr two\nerr three\n"


async def test_command_gets_exactly_the_given_environment(reaper: Reaper, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    env = {"PATH": os.environ["PATH"], "GREETING": "hello, world"}
    await reaper.spawn(run_dir, ["env", "-0"], tmp_path, env=env)

    await wait_ended(run_dir, END_TIMEOUT)

    entries = (run_dir / "stdout.log").read_text().split("\0")[:-1]
    assert dict(entry.split("=", 1) for entry in entries) == env


async def test_twenty_megabytes_arrive_intact_while_supervisor_memory_stays_small(
    reaper: Reaper, tmp_path: Path
) -> None:
    run_dir = tmp_path / "run"
    state = await reaper.spawn(run_dir, python(FLOOD), tmp_path)
    expected = {
        stream: b"".join(f"{fd} {i:013d}\n".encode() * 4096 for i in range(FLOOD_CHUNKS))
        for fd, stream in ((1, "stdout"), (2, "stderr"))
    }
    deadline = asyncio.get_running_loop().time() + 60
    while any(
        (run_dir / f"{stream}.log").stat().st_size < len(data) for stream, data in expected.items()
    ):
        assert asyncio.get_running_loop().time() < deadline, "output still missing"
        await asyncio.sleep(0.05)

    peak_rss_kib = vm_peak_rss_kib(state.supervisor_pid)
    assert request_stop(state)
    await wait_ended(run_dir, END_TIMEOUT)

    assert peak_rss_kib < 30 * 1024
    for stream, data in expected.items():
        assert (run_dir / f"{stream}.log").read_bytes() == data
    labelled = labelled_output(run_dir)
    for stream, data in expected.items():
        assert b"".join(part for name, part in labelled if name == stream) == data


# Stopping whole trees


async def test_stop_ends_grandchild_that_left_the_process_group(
    reaper: Reaper, tmp_path: Path
) -> None:
    run_dir, pid_file = tmp_path / "run", tmp_path / "pids"
    state = await reaper.spawn(run_dir, python(SETSID_GRANDCHILD, pid_file), tmp_path)
    tree = await reaper.wait_for_pids(pid_file, 2)
    (child, _), (grandchild, _) = tree
    assert process_group(grandchild) != process_group(child) == state.pgid

    assert request_stop(state)
    ended = await wait_ended(run_dir, END_TIMEOUT)

    assert ended.stopped and ended.signal == signal.SIGTERM
    assert all(is_gone(pid, ticks) for pid, ticks in tree)
    assert (run_dir / "stdout.log").read_bytes() == b"grandchild in a session of its own\n"


async def test_double_forked_daemon_is_ended_when_the_command_exits(
    reaper: Reaper, tmp_path: Path
) -> None:
    run_dir, pid_file = tmp_path / "run", tmp_path / "pids"
    await reaper.spawn(run_dir, python(DOUBLE_FORKED_DAEMON, pid_file), tmp_path)

    ended = await wait_ended(run_dir, END_TIMEOUT)

    assert (ended.exit_code, ended.stopped) == (0, False)
    tree = await reaper.wait_for_pids(pid_file, 2)
    assert all(is_gone(pid, ticks) for pid, ticks in tree)


async def test_child_ignoring_sigterm_gets_sigkill_after_grace(
    reaper: Reaper, tmp_path: Path
) -> None:
    run_dir, pid_file, notes = tmp_path / "run", tmp_path / "pids", tmp_path / "notes"
    command = python(IGNORES_SIGTERM, pid_file, notes)
    state = await reaper.spawn(run_dir, command, tmp_path, grace=2.0)
    tree = await reaper.wait_for_pids(pid_file, 1)

    assert request_stop(state)
    ended = await wait_ended(run_dir, END_TIMEOUT)

    assert ended.stopped and ended.signal == signal.SIGKILL
    assert notes.read_text() == "TERM\n"  # once: the group signal, not one per route
    assert all(is_gone(pid, ticks) for pid, ticks in tree)


async def test_foreground_supervisor_stops_its_command_on_sigint(
    reaper: Reaper, tmp_path: Path
) -> None:
    run_dir = reaper.watch_run(tmp_path / "run")
    command = [str(SUPERVISOR_SCRIPT), "--dir", str(run_dir), "--cwd", str(tmp_path)]
    supervisor = await asyncio.create_subprocess_exec(
        sys.executable, *command, "--", "sleep", "600"
    )
    try:
        while (state := read_state(run_dir)) is None:
            assert supervisor.returncode is None, "the supervisor exited early"
            await asyncio.sleep(0.02)
        supervisor.send_signal(signal.SIGINT)
        ended = await wait_ended(run_dir, END_TIMEOUT)
        assert await asyncio.wait_for(supervisor.wait(), END_TIMEOUT) == 0
    finally:
        if supervisor.returncode is None:
            supervisor.terminate()
            await asyncio.wait_for(supervisor.wait(), END_TIMEOUT)

    assert state.supervisor_pid == supervisor.pid
    assert ended.stopped and ended.signal == signal.SIGTERM


# The server's side


async def test_supervisor_outlives_its_launcher_and_stays_stoppable(
    reaper: Reaper, tmp_path: Path
) -> None:
    run_dir = reaper.watch_run(tmp_path / "run")
    launch = (
        "import os, sys; from pathlib import Path;"
        " from worksite.runtime.processes import spawn_supervised;"
        " spawn_supervised(Path(sys.argv[1]), ['sleep', '600'], Path(sys.argv[2]),"
        " dict(os.environ))"
    )
    launcher = await asyncio.create_subprocess_exec(*python(launch, run_dir, tmp_path))
    assert await asyncio.wait_for(launcher.wait(), END_TIMEOUT) == 0

    state = read_state(run_dir)
    assert state is not None and is_alive(state)
    assert launcher.pid not in (state.supervisor_pid, parent_of(state.supervisor_pid))

    assert request_stop(state)
    ended = await wait_ended(run_dir, END_TIMEOUT)
    assert ended.stopped and ended.signal == signal.SIGTERM
    # The supervisor records the end just before it exits.
    deadline = time.monotonic() + END_TIMEOUT
    while is_alive(state) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert not is_alive(state)


async def test_spawn_leaves_no_child_process_in_the_server(reaper: Reaper, tmp_path: Path) -> None:
    children_before = children_of(os.getpid())

    await reaper.spawn(tmp_path / "run", ["sleep", "600"], tmp_path)

    assert children_of(os.getpid()) == children_before


async def test_reused_pid_is_not_taken_for_the_supervisor(reaper: Reaper, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    state = await reaper.spawn(run_dir, ["sleep", "600"], tmp_path)
    impostor = dataclasses.replace(state, supervisor_start_ticks=state.supervisor_start_ticks + 1)

    assert not is_alive(impostor)
    assert request_stop(impostor) is False

    await asyncio.sleep(0.5)  # room for a stray signal to take effect
    assert is_alive(state)
    current = read_state(run_dir)
    assert current is not None and not current.ended


async def test_wait_ended_times_out_on_a_running_command(reaper: Reaper, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    await reaper.spawn(run_dir, ["sleep", "600"], tmp_path)

    with pytest.raises(TimeoutError):
        await wait_ended(run_dir, timeout=0.2)


async def test_spawn_refuses_a_run_directory_that_holds_a_run(
    reaper: Reaper, tmp_path: Path
) -> None:
    run_dir = tmp_path / "run"
    await reaper.spawn(run_dir, ["true"], tmp_path)

    with pytest.raises(SupervisorError, match="holds a run"):
        await reaper.spawn(run_dir, ["true"], tmp_path)


async def test_spawn_names_a_run_directory_it_cannot_make(reaper: Reaper, tmp_path: Path) -> None:
    (tmp_path / "logs").write_text("a file where the runs' directory should be")

    with pytest.raises(SupervisorError, match="Cannot make the run directory .*logs/run"):
        await reaper.spawn(tmp_path / "logs" / "run", ["true"], tmp_path)


async def test_spawn_reports_a_supervisor_that_died_before_starting(
    reaper: Reaper, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = tmp_path / "broken_supervisor.py"
    broken.write_text("import sys; sys.exit('supervisor broke: no /proc here')")
    monkeypatch.setattr(processes, "SUPERVISOR_SCRIPT", broken)

    with pytest.raises(SupervisorError, match="no /proc here"):
        await reaper.spawn(tmp_path / "run", ["true"], tmp_path)


async def test_supervisor_keeps_no_descriptor_its_launcher_leaked(
    reaper: Reaper, tmp_path: Path
) -> None:
    run_dir = reaper.watch_run(tmp_path / "run")
    read_end, write_end = os.pipe()
    command = processes.supervisor_command(run_dir, ["sleep", "600"], tmp_path, 10.0)
    # The launcher passes one more descriptor on, as uvloop's subprocesses do.
    launcher = await asyncio.create_subprocess_exec(*command, pass_fds=(write_end,))
    os.close(write_end)
    try:
        assert await asyncio.wait_for(launcher.wait(), END_TIMEOUT) == 0
        state = read_state(run_dir)
        assert state is not None and is_alive(state)

        # Nobody holds the write end any more: the read end is at its end.
        assert await asyncio.wait_for(asyncio.to_thread(os.read, read_end, 1), END_TIMEOUT) == b""
    finally:
        os.close(read_end)


async def test_spawn_returns_under_uvloop(reaper: Reaper, tmp_path: Path) -> None:
    # uvloop (which `worksite serve` runs on) does not close descriptors in children.
    import uvloop

    run_dir = reaper.watch_run(tmp_path / "run")
    spawn = processes.spawn_supervised_async(
        run_dir, ["sleep", "600"], tmp_path, dict(os.environ), start_timeout=END_TIMEOUT
    )

    state = await asyncio.to_thread(uvloop.run, spawn)

    assert not state.ended and is_alive(state)
