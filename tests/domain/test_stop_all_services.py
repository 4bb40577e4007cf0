"""stop_all_services: what the close flow calls before cleanup and teardown."""

from __future__ import annotations

from pathlib import Path

from tests.support.api import Api
from tests.support.services import (
    http_service,
    pid_alive,
    run_job,
    runtime_workspace,
    start,
    until_service,
    workspace_state,
)
from worksite.domain.services import stop_all_services
from worksite.models import ExecutionWorkspace, PortLease


async def test_stop_all_services_ends_services_and_jobs_and_releases_ports(
    api: Api, git_repo: Path
) -> None:
    commands = [
        http_service("web"),
        {"name": "worker", "kind": "service", "command": "sleep 600"},
        {"name": "waiter", "kind": "service", "command": "sleep 600",
         "readiness": {"command": "false", "timeoutSeconds": 600}},
        {"name": "long", "kind": "job", "command": "sleep 600"},
    ]
    workspace = await runtime_workspace(api, git_repo, commands)
    await start(api, workspace)
    job = (await run_job(api, workspace, "long"))["operation"]
    for name in ("web", "worker"):
        await until_service(api, workspace, name, lambda s: s["status"] == "RUNNING")
    before = {s["name"]: s for s in (await workspace_state(api, workspace))["services"]}
    assert before["waiter"]["status"] == "STARTING"
    row = await ExecutionWorkspace.get(id=workspace.id)

    stopped = await stop_all_services(api.settings, row)

    assert {s.name: s.status.value for s in stopped} == {
        "web": "stopped", "worker": "stopped", "waiter": "stopped",
    }
    assert not any(pid_alive(s["pid"]) for s in before.values())
    assert not await PortLease.filter(workspace_id=workspace.id).exists()
    operations = {op["id"]: op for op in (await workspace_state(api, workspace))["operations"]}
    assert operations[job["id"]]["status"] == "FAILED"
    assert operations[job["id"]]["exitCode"] == 128 + 15
