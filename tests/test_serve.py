"""The real server (`worksite serve` in a process of its own), killed and started again
while services and jobs run: they survive it, and the new server adopts them."""

from __future__ import annotations

import asyncio
import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx2

from tests.conftest import OPERATOR_TOKEN
from tests.support.api import Api
from tests.support.postgres import free_port
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

START_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0


class Server:
    """`worksite serve` on a free loopback port, stopped by its pid."""

    def __init__(self, settings: Settings, log: Path) -> None:
        self.settings = settings
        self.log = log
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {
            **os.environ,
            "WORKSITE_DATA_DIR": str(self.settings.data_dir),
            "WORKSITE_DATABASE_URL": self.settings.database_url,
            "WORKSITE_TOKEN": OPERATOR_TOKEN,
        }
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "worksite.cli", "serve", "--port", str(self.port)],
                env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            )

    async def until_healthy(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        async with httpx2.AsyncClient(trust_env=False) as client:
            while True:
                assert self.process is not None and self.process.poll() is None, self.output()
                try:
                    response = await client.get(f"http://127.0.0.1:{self.port}/healthz")
                    if response.status_code == 200:
                        return
                except httpx2.TransportError:
                    pass
                assert time.monotonic() < deadline, self.output()
                await asyncio.sleep(0.05)

    def stop(self, signum: int = signal.SIGTERM) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            os.kill(self.process.pid, signum)
        try:
            return self.process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-5000:]


@asynccontextmanager
async def running(settings: Settings, log: Path) -> AsyncIterator[tuple[Server, Api]]:
    server = Server(settings, log)
    server.start()
    try:
        await server.until_healthy()
        base_url = f"http://127.0.0.1:{server.port}"
        async with httpx2.AsyncClient(base_url=base_url, trust_env=False, timeout=60) as client:
            yield server, Api(client, settings, OPERATOR_TOKEN)
    finally:
        server.stop()


async def test_services_and_jobs_survive_a_killed_server_and_are_adopted(
    settings: Settings, git_repo: Path, tmp_path: Path
) -> None:
    log = tmp_path / "server.log"
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

    async with running(settings, log) as (server, api):
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
        assert server.stop(signal.SIGKILL) == -signal.SIGKILL
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

    async with running(settings, log) as (server, api):
        state = await workspace_state(api, workspace)
        services = {s["name"]: s for s in state["services"]}
        assert services["web"]["status"] == "RUNNING", server.output()
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
    assert "adopted 1 live services (1 more had ended)" in server.output()


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
