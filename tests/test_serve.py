"""The real server (`worksite serve` in a process of its own), killed and started again
while services and jobs run: they survive it, and the new server adopts them."""

from __future__ import annotations

import asyncio
import shlex
import signal
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx2

from tests.conftest import OPERATOR_TOKEN
from tests.support.api import Api
from tests.support.server import ServerProcess
from tests.support.services import (
    checked_out,
    get_json,
    http_service,
    pid_alive,
    project_with,
    run_job,
    started,
    stop,
    until,
    until_log_contains,
    wait_for_file,
    workspace_state,
)
from tests.support.supervisors import live_supervisors
from worksite.settings import Settings


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[tuple[ServerProcess, Api]]:
    server = ServerProcess(settings.data_dir, settings.database_url, OPERATOR_TOKEN)
    server.start()
    try:
        async with httpx2.AsyncClient(base_url=server.url, trust_env=False, timeout=60) as client:
            yield server, Api(client, settings, OPERATOR_TOKEN)
    finally:
        server.stop()


def output(server: ServerProcess) -> str:
    return server.log_path.read_text(errors="replace")[-5000:]


async def test_services_and_jobs_survive_a_killed_server_and_are_adopted(
    settings: Settings, git_repo: Path, tmp_path: Path
) -> None:
    marks = tmp_path / "marks"
    marks.mkdir()
    commands = [
        http_service("web"),
        {"name": "crasher", "kind": "service", "command": f"{wait_for_file('crash')}; exit 4"},
        {"name": "tests", "kind": "job", "command": f"{wait_for_file('finish')}; exit 7"},
    ]
    # The second issue's provision waits, so the server can be killed in the middle.
    provision = (
        f'if [ "$WORKSITE_ISSUE" = PAP-2 ]; then touch {shlex.quote(str(marks / "started"))}; '
        f"{wait_for_file(str(marks / 'go'))}; fi"
    )

    async with running(settings) as (server, api):
        project_id, agent_id, token = await project_with(
            api, git_repo, commands, provisionCommand=provision
        )
        workspace = await checked_out(api, project_id, agent_id, token)
        web = await started(api, workspace, "web")
        crasher = await started(api, workspace, "crasher")
        job = (await run_job(api, workspace, "tests"))["operation"]
        env = (await get_json(f"{web['url']}/env"))["env"]
        assert "WORKSITE_TOKEN" not in env and "WORKSITE_DATABASE_URL" not in env
        assert OPERATOR_TOKEN not in env.values()

        checkout = asyncio.create_task(checked_out(api, project_id, agent_id, token, "Second"))
        await until(lambda: (marks / "started").exists(), "the provision command")
        server.stop(signal.SIGKILL)
        assert server.process is not None and server.process.returncode == -signal.SIGKILL
        try:
            await checkout
        except (httpx2.TransportError, AssertionError):
            pass  # the server died under the request

    # No server runs. The web service still answers; the others end meanwhile.
    assert pid_alive(web["pid"]) and pid_alive(crasher["pid"])
    await get_json(f"{web['url']}/env")
    for name in ("crash", "finish"):
        (workspace.cwd / name).touch()
    (marks / "go").touch()
    await until(lambda: len(live_supervisors(settings.data_dir)) == 1, "only web to run")

    async with running(settings) as (server, api):
        state = await workspace_state(api, workspace)
        services = {s["name"]: s for s in state["services"]}
        assert services["web"]["status"] == "RUNNING", output(server)
        assert services["web"]["pid"] == web["pid"]
        assert (services["crasher"]["status"], services["crasher"]["exitCode"]) == ("FAILED", 4)
        (job_now,) = [op for op in state["operations"] if op["id"] == job["id"]]
        assert (job_now["status"], job_now["exitCode"]) == ("FAILED", 7)
        provisions = await provision_operations(api, project_id)
        assert [(op["status"], op["exitCode"]) for op in provisions] == [("SUCCEEDED", 0)]

        # Its log kept growing through both servers: three requests, three lines.
        await get_json(f"{web['url']}/env")
        await until_log_counts(api, web["startOperation"]["id"], "GET /env", 3)

        result = await stop(api, workspace, "web")
        assert result["services"][0]["status"] == "STOPPED", result
        assert not pid_alive(web["pid"])
    assert "adopted 1 live services (1 more had ended)" in output(server)


PROVISIONS = """
query($projectId: ID!) { executionWorkspaces(projectId: $projectId) {
  sourceIssue { identifier } operations { phase status exitCode } } }
"""


async def provision_operations(api: Api, project_id: str) -> list[dict[str, object]]:
    """The provision operations of PAP-2's workspace."""
    data = await api.gql(PROVISIONS, {"projectId": project_id})
    (second,) = [
        w for w in data["executionWorkspaces"] if w["sourceIssue"]["identifier"] == "PAP-2"
    ]
    return [op for op in second["operations"] if op["phase"] == "provision"]


async def until_log_counts(api: Api, operation_id: str, text: str, count: int) -> None:
    deadline = time.monotonic() + 30
    while (seen := (await until_log_contains(api, operation_id, text)).count(text)) < count:
        assert time.monotonic() < deadline, f"{text!r} is in the log {seen} times"
        await asyncio.sleep(0.05)
    assert seen == count
