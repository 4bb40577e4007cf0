"""Services with real processes in real worktrees: start, readiness, stop, ports."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from tests.support.api import Api
from tests.support.services import (
    OPERATION_LOG,
    PYTHON,
    RESTART,
    SETSID_SERVICE,
    get_json,
    http_service,
    pid_alive,
    runtime_workspace,
    start,
    started,
    stop,
    until,
    until_service,
    wait_for_file,
    workspace_state,
)
from tests.support.supervisors import live_supervisors
from worksite.domain import monitor
from worksite.runtime.processes import start_ticks


def recorded_pids(pid_file: Path) -> list[tuple[int, int]]:
    """The "<pid> <start ticks>" lines a test program wrote, complete lines only."""
    if not pid_file.exists():
        return []
    text = pid_file.read_text()
    lines = text[: text.rfind("\n") + 1].splitlines()
    return [(int(pid), int(ticks)) for pid, ticks in (line.split() for line in lines)]


async def test_http_service_runs_in_its_workspace_on_a_leased_port_until_stopped(
    api: Api, git_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Secrets of the server that a service must never see.
    monkeypatch.setenv("WORKSITE_TOKEN", "server-secret-token")
    monkeypatch.setenv("WORKSITE_DATABASE_URL", "postgres://secret@db/worksite")
    workspace = await runtime_workspace(api, git_repo, [http_service("web")])

    web = await started(api, workspace, "web", wait=True)

    assert web["status"] == "RUNNING" and web["health"] == "HEALTHY", web
    assert web["url"] == f"http://127.0.0.1:{web['port']}"
    seen = await get_json(f"{web['url']}/env")
    assert seen["cwd"] == str(workspace.cwd.resolve()) == web["cwd"]
    env = seen["env"]
    assert env["PORT"] == str(web["port"])
    assert env["WORKSITE_WORKSPACE_ID"] == workspace.id
    assert env["WORKSITE_BRANCH"] == "PAP-1-fix-the-login-form"
    assert env["WORKSITE_ISSUE"] == "PAP-1"
    assert "WORKSITE_TOKEN" not in env and "WORKSITE_DATABASE_URL" not in env
    assert not any("secret" in value for value in env.values())
    start_operation = web["startOperation"]
    assert start_operation["phase"] == "start" and start_operation["status"] == "RUNNING"

    result = await stop(api, workspace, "web")

    assert result["__typename"] == "WorkspaceServicesSuccess", result
    (stopped,) = result["services"]
    assert stopped["status"] == "STOPPED" and stopped["stoppedAt"]
    assert stopped["exitCode"] == 128 + 15  # the default action of SIGTERM
    assert not pid_alive(web["pid"])
    assert stopped["startOperation"]["status"] == "SUCCEEDED"
    assert stopped["startOperation"]["exitCode"] == 143
    assert "listening on" in stopped["startOperation"]["stdoutExcerpt"]
    phases = [
        (op["phase"], op["status"]) for op in (await workspace_state(api, workspace))["operations"]
    ]
    assert ("stop", "SUCCEEDED") in phases
    log = await api.gql(OPERATION_LOG, {"id": start_operation["id"], "offset": 0, "limit": 65536})
    assert "GET /env" in log["operation"]["log"]["content"]
    assert log["operation"]["log"]["complete"]


# Readiness and health


async def test_service_is_starting_until_its_readiness_command_succeeds(
    api: Api, git_repo: Path
) -> None:
    waiter = {
        "name": "worker",
        "kind": "service",
        "command": "sleep 600",
        "readiness": {"command": "test -e ready", "timeoutSeconds": 60},
    }
    workspace = await runtime_workspace(api, git_repo, [waiter])

    worker = await started(api, workspace, "worker", wait=False)
    assert worker["status"] == "STARTING" and worker["health"] == "UNKNOWN"
    second = await start(api, workspace, "worker")
    assert second["__typename"] == "ConflictError"
    assert "already in progress" in second["message"]

    (workspace.cwd / "ready").touch()
    worker = await until_service(api, workspace, "worker", lambda s: s["status"] != "STARTING")

    assert worker["status"] == "RUNNING" and worker["health"] == "HEALTHY", worker
    assert worker["readyAt"] >= worker["startedAt"]


async def test_service_that_never_gets_ready_fails_with_the_reason_and_is_stopped(
    api: Api, git_repo: Path
) -> None:
    silent = {
        "name": "silent",
        "kind": "service",
        "command": "sleep 600",
        "readiness": {"command": "exit 1", "timeoutSeconds": 1},
    }
    workspace = await runtime_workspace(api, git_repo, [silent])

    result = await started(api, workspace, "silent", wait=True)

    assert result["status"] == "FAILED", result
    assert result["failureReason"].startswith("not ready within 1 s: "), result
    assert result["failureReason"].endswith("exit code 1")
    assert not pid_alive(result["pid"])
    assert result["startOperation"]["status"] == "FAILED"
    assert "not ready within 1 s" in result["startOperation"]["stderrExcerpt"]


async def test_health_is_checked_while_the_service_runs(
    api: Api, git_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(monitor, "HEALTH_INTERVAL", 0.2)
    workspace = await runtime_workspace(api, git_repo, [http_service("web")])
    web = await started(api, workspace, "web", wait=True)
    assert (web["status"], web["health"]) == ("RUNNING", "HEALTHY")

    (workspace.cwd / "unhealthy").touch()
    web = await until_service(api, workspace, "web", lambda s: s["health"] == "UNHEALTHY")
    assert web["status"] == "RUNNING"

    (workspace.cwd / "unhealthy").unlink()
    await until_service(api, workspace, "web", lambda s: s["health"] == "HEALTHY")


# Ending on their own


async def test_service_that_crashes_on_its_own_is_failed_with_its_exit_code(
    api: Api, git_repo: Path
) -> None:
    crasher = {
        "name": "crasher",
        "kind": "service",
        "command": f"{wait_for_file('crash')}; echo going down >&2; exit 4",
    }
    workspace = await runtime_workspace(api, git_repo, [crasher])
    running = await started(api, workspace, "crasher")
    assert running["status"] == "RUNNING" and running["health"] == "UNKNOWN"

    (workspace.cwd / "crash").touch()
    crashed = await until_service(api, workspace, "crasher", lambda s: s["status"] != "RUNNING")

    assert crashed["status"] == "FAILED" and crashed["exitCode"] == 4, crashed
    assert crashed["failureReason"] == "it exited with code 4"
    assert crashed["stoppedAt"] is not None
    operation = crashed["startOperation"]
    assert (operation["status"], operation["exitCode"]) == ("FAILED", 4)
    assert operation["stderrExcerpt"] == "going down"


@pytest.mark.parametrize(
    ("command", "exit_code", "reason"),
    [
        ("echo bye; exit 2", 2, "it exited with code 2"),
        ("worksite-no-such-program", 127, "it exited with code 127"),
    ],
)
async def test_service_that_exits_at_once_finishes_at_once(
    api: Api, git_repo: Path, command: str, exit_code: int, reason: str
) -> None:
    workspace = await runtime_workspace(
        api, git_repo, [{"name": "brief", "kind": "service", "command": command}]
    )

    await started(api, workspace, "brief")
    brief = await until_service(api, workspace, "brief", lambda s: s["status"] == "FAILED")

    assert (brief["exitCode"], brief["failureReason"]) == (exit_code, reason)
    assert brief["startOperation"]["status"] == "FAILED"


# One identity per (workspace, name)


async def test_fifty_concurrent_starts_make_one_process(api: Api, git_repo: Path) -> None:
    workspace = await runtime_workspace(
        api, git_repo, [{"name": "db", "kind": "service", "command": "sleep 600"}]
    )

    results = await asyncio.gather(*(start(api, workspace, "db") for _ in range(50)))

    successes = [r for r in results if r["__typename"] == "WorkspaceServicesSuccess"]
    conflicts = [r for r in results if r["__typename"] == "ConflictError"]
    assert len(successes) == 1 and len(conflicts) == 49, results
    assert all(
        "already running" in c["message"] or "already in progress" in c["message"]
        for c in conflicts
    ), conflicts
    assert len(live_supervisors(api.settings.data_dir)) == 1
    operations = (await workspace_state(api, workspace))["operations"]
    assert [op["phase"] for op in operations if op["serviceName"] == "db"] == ["start"]


async def test_start_of_a_running_service_and_stop_of_a_stopped_one_are_conflicts(
    api: Api, git_repo: Path
) -> None:
    workspace = await runtime_workspace(
        api, git_repo, [{"name": "db", "kind": "service", "command": "sleep 600"}]
    )
    db = await started(api, workspace, "db")

    again = await start(api, workspace, "db")
    assert again["__typename"] == "ConflictError"
    assert again["message"] == (
        f"Service db of PAP-1-fix-the-login-form is already running (pid {db['pid']})."
    )
    await stop(api, workspace, "db")
    stopped_again = await stop(api, workspace, "db")
    assert stopped_again["__typename"] == "ConflictError"
    assert "is not running (stopped)" in stopped_again["message"]


# Stopping trees, restarting, acting on every service


async def test_stop_leaves_no_process_of_a_tree_whose_grandchild_called_setsid(
    api: Api, git_repo: Path, tmp_path: Path
) -> None:
    pid_file = tmp_path / "pids"
    command = f"{SETSID_SERVICE} {pid_file}"
    workspace = await runtime_workspace(
        api, git_repo, [{"name": "tree", "kind": "service", "command": command}]
    )
    await started(api, workspace, "tree")
    await until(lambda: len(recorded_pids(pid_file)) == 2, "the child and grandchild")
    (child, _), (grandchild, _) = tree = recorded_pids(pid_file)
    assert os.getsid(grandchild) != os.getsid(child)

    result = await stop(api, workspace, "tree")

    assert result["services"][0]["status"] == "STOPPED", result
    assert all(start_ticks(pid) != ticks for pid, ticks in tree)


async def test_restart_runs_a_new_process_on_the_same_port(api: Api, git_repo: Path) -> None:
    workspace = await runtime_workspace(api, git_repo, [http_service("web")])
    first = await started(api, workspace, "web")

    result = await api.mutate(RESTART, {"id": workspace.id, "name": "web", "wait": True})

    (second,) = result["services"]
    assert second["status"] == "RUNNING" and second["pid"] != first["pid"], result
    assert second["port"] == first["port"]
    assert not pid_alive(first["pid"])
    assert second["startOperation"]["phase"] == "restart"
    assert second["startOperation"]["status"] == "RUNNING"
    phases = [op["phase"] for op in (await workspace_state(api, workspace))["operations"]]
    assert sorted(p for p in phases if p in ("start", "stop", "restart")) == [
        "restart",
        "start",
        "stop",
    ]


async def test_start_and_stop_without_a_name_act_on_every_service(api: Api, git_repo: Path) -> None:
    commands = [
        {"name": "api", "kind": "service", "command": "sleep 600"},
        {"name": "worker", "kind": "service", "command": "sleep 600"},
        {"name": "migrate", "kind": "job", "command": "true"},
    ]
    workspace = await runtime_workspace(api, git_repo, commands)
    await started(api, workspace, "api")

    result = await start(api, workspace)

    assert [s["name"] for s in result["services"]] == ["worker"], result
    state = await workspace_state(api, workspace)
    assert {c["name"]: (c["service"] or {}).get("status") for c in state["commands"]} == {
        "api": "RUNNING",
        "worker": "RUNNING",
        "migrate": None,
    }
    stopped = await stop(api, workspace)
    assert sorted((s["name"], s["status"]) for s in stopped["services"]) == [
        ("api", "STOPPED"),
        ("worker", "STOPPED"),
    ]


# Output


FLOOD_MB = 40
FLOOD = (
    f"{PYTHON} -c 'import sys, time\n"
    'chunk = b"x" * 1023 + b"\\n"\n'
    f"for _ in range({FLOOD_MB} * 1024): sys.stdout.buffer.write(chunk)\n"
    "sys.stdout.flush(); time.sleep(600)'"
)


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


async def test_megabytes_of_output_go_to_disk_not_into_server_memory(
    api: Api, git_repo: Path
) -> None:
    workspace = await runtime_workspace(
        api, git_repo, [{"name": "noisy", "kind": "service", "command": FLOOD}]
    )
    before = rss_kib()

    noisy = await started(api, workspace, "noisy")
    output = api.settings.logs_dir / workspace.id / noisy["startOperation"]["id"] / "output.log"
    await until(lambda: output.exists() and output.stat().st_size >= FLOOD_MB << 20, "the output")

    # The server (this process) never held the output: it went from pipe to file.
    assert rss_kib() - before < 10 * 1024
    log = await api.gql(
        OPERATION_LOG, {"id": noisy["startOperation"]["id"], "offset": 0, "limit": 1 << 30}
    )
    assert len(log["operation"]["log"]["content"]) == 1 << 20  # one read is at most 1 MiB
    result = await stop(api, workspace, "noisy")
    excerpt = result["services"][0]["startOperation"]["stdoutExcerpt"]
    assert 0 < len(excerpt) <= 4096 and set(excerpt) == {"x", "\n"}
