"""stop_all_services: what the close flow calls before cleanup and teardown."""

from __future__ import annotations

from pathlib import Path

from tests.support.api import Api
from tests.support.services import (
    checked_out,
    http_service,
    pid_alive,
    project_with,
    run_job,
    runtime_workspace,
    start,
    started,
    until,
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
        {
            "name": "waiter",
            "kind": "service",
            "command": "sleep 600",
            "readiness": {"command": "false", "timeoutSeconds": 600},
        },
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
        "web": "stopped",
        "worker": "stopped",
        "waiter": "stopped",
    }
    assert not any(pid_alive(s["pid"]) for s in before.values())
    assert not await PortLease.filter(workspace_id=workspace.id).exists()
    operations = {op["id"]: op for op in (await workspace_state(api, workspace))["operations"]}
    assert operations[job["id"]]["status"] == "FAILED"
    assert operations[job["id"]]["exitCode"] == 128 + 15


CLOSE = """
mutation($id: ID!) { closeExecutionWorkspace(id: $id, force: true) {
  __typename ... on ExecutionWorkspace { status operations { phase status } }
  ... on Error { message } } }
"""


async def test_close_stops_services_before_cleanup_runs(
    api: Api, git_repo: Path, tmp_path: Path
) -> None:
    verdict = tmp_path / "verdict"
    # The cleanup command looks for the service's process: it must be gone by then.
    cleanup = (
        f"if kill -0 $(cat service.pid) 2>/dev/null; then echo alive; else echo gone; fi"
        f" > {verdict}"
    )
    service = {"name": "db", "kind": "service", "command": "echo $$ > service.pid; exec sleep 600"}
    project_id, agent_id, token = await project_with(
        api, git_repo, [service], cleanupCommand=cleanup
    )
    workspace = await checked_out(api, project_id, agent_id, token)
    db = await started(api, workspace, "db")
    await until(lambda: (workspace.cwd / "service.pid").exists(), "the service's pid file")

    closed = await api.mutate(CLOSE, {"id": workspace.id})

    assert closed["status"] == "ARCHIVED", closed
    assert verdict.read_text() == "gone\n"
    assert not pid_alive(db["pid"])
    phases = [op["phase"] for op in reversed(closed["operations"])]
    assert phases.index("stop") < phases.index("cleanup")
