"""Services and jobs on an SSH environment, under the same supervision as locally.

The host is this machine behind the test's OpenSSH server: the tests check on
processes "there" by pid, and everything Worksite did went over SSH.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

from tests.api.test_close import CLOSE, DONE
from tests.api.test_ssh_workspaces import ssh_project
from tests.conftest import serve_in_process
from tests.support.api import Api
from tests.support.gqlws import GraphQLWebSocket
from tests.support.scenarios import OPERATION_LOG as OPERATION_LOG_STREAM
from tests.support.server import ServerProcess
from tests.support.services import (
    OPERATION_LOG,
    Workspace,
    get_json,
    http_service,
    pid_alive,
    run_job,
    service,
    start,
    started,
    stop,
    until,
    until_log_contains,
    until_operation,
    wait_for_file,
)
from tests.support.sshd import SshServer
from worksite.domain import monitor
from worksite.settings import Settings

COMMANDS = [
    http_service("web"),
    {
        "name": "ticker",
        "kind": "service",
        "command": f"echo first; {wait_for_file('next')}; echo second; exec sleep 600",
    },
    {"name": "tests", "kind": "job", "command": "echo running tests; echo 2 failed >&2; exit 3"},
    {"name": "slow", "kind": "job", "command": f"{wait_for_file('finish')}; exit 7"},
]


async def ssh_workspace(api: Api, server: SshServer, tmp_path: Path, repo: Path) -> Workspace:
    project = await ssh_project(api, server, tmp_path, repo, runtimeConfig={"commands": COMMANDS})
    result = await project.checkout()
    assert result["__typename"] == "CheckoutIssueSuccess", result
    workspace = result["workspace"]
    return Workspace(workspace["id"], Path(workspace["cwd"]), project.token, project.project["id"])


async def log_of(api: Api, operation_id: str, offset: int = 0) -> dict[str, Any]:
    data = await api.gql(OPERATION_LOG, {"id": operation_id, "offset": offset, "limit": 1 << 16})
    return data["operation"]["log"]  # type: ignore[no-any-return]


async def test_a_service_runs_on_the_host_and_becomes_ready(
    api: Api, sshd: SshServer, tmp_path: Path, git_repo: Path
) -> None:
    workspace = await ssh_workspace(api, sshd, tmp_path, git_repo)

    web = await started(api, workspace, "web")
    answer = await get_json(f"{web['url']}/env")

    assert (web["status"], web["health"]) == ("RUNNING", "HEALTHY")
    assert web["url"] == f"http://127.0.0.1:{web['port']}"
    assert answer["cwd"] == str(workspace.cwd)
    assert answer["env"]["WORKSITE_WORKSPACE_ID"] == workspace.id
    assert answer["env"]["PORT"] == str(web["port"])
    assert "SSH_CONNECTION" not in answer["env"]  # the environment is built, not inherited
    await until_log_contains(api, web["startOperation"]["id"], "listening on")

    stopped = (await stop(api, workspace, "web"))["services"][0]
    assert stopped["status"] == "STOPPED"
    assert not pid_alive(web["pid"])


async def test_a_failing_job_reports_its_exit_code_and_output(
    api: Api, sshd: SshServer, tmp_path: Path, git_repo: Path
) -> None:
    workspace = await ssh_workspace(api, sshd, tmp_path, git_repo)

    result = await run_job(api, workspace, "tests", wait=True)

    operation = result["operation"]
    assert (operation["status"], operation["exitCode"]) == ("FAILED", 3)
    assert operation["stdoutExcerpt"] == "running tests"
    assert operation["stderrExcerpt"] == "2 failed"
    log = await log_of(api, operation["id"])
    assert sorted(log["content"].splitlines()) == ["2 failed", "running tests"]
    assert log["complete"] is True


async def test_a_services_log_streams_back_and_resumes_from_an_offset(
    api: Api, sshd: SshServer, tmp_path: Path, git_repo: Path
) -> None:
    workspace = await ssh_workspace(api, sshd, tmp_path, git_repo)
    ticker = await started(api, workspace, "ticker")
    run = ticker["startOperation"]["id"]
    await until_log_contains(api, run, "first")
    first = await log_of(api, run)

    (workspace.cwd / "next").write_text("")
    await until_log_contains(api, run, "second")
    rest = await log_of(api, run, first["nextOffset"])

    assert first == {"content": "first\n", "nextOffset": 6, "complete": False}
    assert rest == {"content": "second\n", "nextOffset": 13, "complete": False}
    await stop(api, workspace, "ticker")


async def test_a_restarted_server_adopts_the_service_running_on_the_host(
    settings: Settings, sshd: SshServer, tmp_path: Path, git_repo: Path
) -> None:
    async with serve_in_process(settings) as api:
        workspace = await ssh_workspace(api, sshd, tmp_path, git_repo)
        web = await started(api, workspace, "web")

    assert pid_alive(web["pid"])  # the server is gone; the service is not

    async with serve_in_process(settings) as api:
        adopted = await service(api, workspace, "web")
        assert (adopted["status"], adopted["pid"]) == ("RUNNING", web["pid"])
        await get_json(f"{web['url']}/health")  # logged by the service
        await until_log_contains(api, web["startOperation"]["id"], "GET /health")

        stopped = (await stop(api, workspace, "web"))["services"][0]

    assert stopped["status"] == "STOPPED"
    assert not pid_alive(web["pid"])


async def test_the_hosts_sshd_stopping_fails_actions_clearly_and_misreports_nothing(
    api: Api, own_sshd: SshServer, tmp_path: Path, git_repo: Path
) -> None:
    workspace = await ssh_workspace(api, own_sshd, tmp_path, git_repo)
    web = await started(api, workspace, "web")
    slow = (await run_job(api, workspace, "slow"))["operation"]

    own_sshd.stop()
    (workspace.cwd / "finish").write_text("")  # the job ends while the link is down
    await until(lambda: not pid_alive(_job_pid(workspace, slow["id"])), "the job's end")
    refused = [
        await start(api, workspace, "ticker"),
        await run_job(api, workspace, "tests"),
        await stop(api, workspace, "web"),
    ]
    await _rounds_go_by(2)  # rounds that looked while the host was out of reach

    assert [r["__typename"] for r in refused] == ["ConflictError"] * 3
    assert all("Cannot reach" in r["message"] for r in refused), refused
    assert "keeps running" in refused[2]["message"]
    during = await service(api, workspace, "web")
    assert (during["status"], during["pid"]) == ("RUNNING", web["pid"])
    assert pid_alive(web["pid"])
    job = await until_operation(api, slow["id"], lambda op: True)
    assert job["status"] == "RUNNING"  # its end is not known here yet

    own_sshd.start()
    job = await until_operation(api, slow["id"], lambda op: op["status"] != "RUNNING")
    stopped = (await stop(api, workspace, "web"))["services"][0]

    assert (job["status"], job["exitCode"]) == ("FAILED", 7)
    assert stopped["status"] == "STOPPED"
    assert not pid_alive(web["pid"])


def _job_pid(workspace: Workspace, operation_id: str) -> int:
    root = workspace.cwd.parents[1]  # <root>/PAP/<branch>
    state = root / ".worksite" / "runs" / workspace.id / operation_id / "state.json"
    return int(json.loads(state.read_text())["child_pid"])


async def _rounds_go_by(count: int) -> None:
    """Wait until the service monitor has finished `count` more rounds."""
    target = monitor.rounds() + count
    deadline = time.monotonic() + 30
    while monitor.rounds() < target:
        assert time.monotonic() < deadline, "the monitor does not go round"
        await asyncio.sleep(0.05)


async def test_close_stops_the_services_on_the_host_before_removing_the_worktree(
    api: Api, sshd: SshServer, tmp_path: Path, git_repo: Path
) -> None:
    workspace = await ssh_workspace(api, sshd, tmp_path, git_repo)
    web = await started(api, workspace, "web")
    issues = await api.gql(
        "query($w: ID!) { issues(executionWorkspaceId: $w) { id } }", {"w": workspace.id}
    )
    await api.ok(DONE, {"id": issues["issues"][0]["id"]})

    closed = await api.ok(CLOSE, {"id": workspace.id})

    assert closed["status"] == "ARCHIVED", closed
    assert (await service(api, workspace, "web"))["status"] == "STOPPED"
    assert not pid_alive(web["pid"])
    assert not workspace.cwd.exists()


async def test_a_remote_log_reaches_subscribers_live_and_resumes_from_an_offset(
    server: ServerProcess,
    server_api: Api,
    sshd: SshServer,
    tmp_path: Path,
    git_repo: Path,
) -> None:
    workspace = await ssh_workspace(server_api, sshd, tmp_path, git_repo)
    ticker = await started(server_api, workspace, "ticker")
    run = ticker["startOperation"]["id"]
    variables = {"operationId": run, "offset": 0}

    async with GraphQLWebSocket.connect(server.ws_url, server.token) as client:
        subscription = await client.subscribe(OPERATION_LOG_STREAM, variables)
        first = await client.next_value(subscription)
        (workspace.cwd / "next").write_text("")
        second = await client.next_value(subscription)

    async with GraphQLWebSocket.connect(server.ws_url, server.token) as client:
        subscription = await client.subscribe(
            OPERATION_LOG_STREAM, {**variables, "offset": first["nextOffset"]}
        )
        resumed = await client.next_value(subscription)
        await stop(server_api, workspace, "ticker")
        rest = [chunk async for chunk in client.values(subscription)]

    assert (first["content"], first["offset"]) == ("first\n", 0)
    assert (second["content"], second["offset"]) == ("second\n", 6)
    assert resumed == second
    assert all(chunk["__typename"] == "OutputChunk" for chunk in rest)
