"""A new server adopts what the last one left running (the app's lifespan, in process).

The real server process, stopped and started again, is in tests/test_serve.py.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import serve_in_process
from tests.support.services import (
    get_json,
    http_service,
    pid_alive,
    run_job,
    runtime_workspace,
    started,
    stop,
    until,
    until_log_contains,
    until_service,
    wait_for_file,
    workspace_state,
)
from worksite.domain import operations
from worksite.models import ExecutionWorkspace
from worksite.models.enums import OperationCategory
from worksite.runtime.processes import read_state, spawn_supervised_async
from worksite.settings import Settings

COMMANDS = [
    http_service("web"),
    {"name": "crasher", "kind": "service", "command": f"{wait_for_file('crash')}; exit 4"},
    {"name": "late", "kind": "service", "command": f"{wait_for_file('late')}; exit 5"},
    {"name": "impostor", "kind": "service", "command": "sleep 600"},
    {"name": "tests", "kind": "job", "command": f"{wait_for_file('finish')}; exit 7"},
]


def run_dir(settings: Settings, workspace_id: str, operation_id: str) -> Path:
    return settings.logs_dir / workspace_id / operation_id


def ended(directory: Path) -> bool:
    state = read_state(directory)
    return state is not None and state.ended


async def test_new_app_adopts_live_services_and_records_what_ended_meanwhile(
    settings: Settings, git_repo: Path
) -> None:
    async with serve_in_process(settings) as api:
        workspace = await runtime_workspace(api, git_repo, COMMANDS)
        web = await started(api, workspace, "web")
        services = {
            name: await started(api, workspace, name) for name in ("crasher", "late", "impostor")
        }
        job = (await run_job(api, workspace, "tests"))["operation"]
        # Provision operations a killed server left running: one whose command ends
        # while no server runs, one the server never got to launch.
        row = await ExecutionWorkspace.get(id=workspace.id)
        provision = await operations.begin(row, OperationCategory.PROVISION, "provision", "wait")
        await spawn_supervised_async(
            operations.log_dir(settings, provision),
            ["/bin/sh", "-c", f"{wait_for_file('provisioned')}; echo provisioned"],
            workspace.cwd,
            {"PATH": "/usr/bin:/bin"},
        )
        never = await operations.begin(row, OperationCategory.PROVISION, "provision", "true")

    # No server runs now. The crasher and the job end, and so does the provision.
    for name in ("crash", "finish", "provisioned"):
        (workspace.cwd / name).touch()
    waited = [
        run_dir(settings, workspace.id, services["crasher"]["startOperation"]["id"]),
        run_dir(settings, workspace.id, job["id"]),
        operations.log_dir(settings, provision),
    ]
    await until(lambda: all(ended(directory) for directory in waited), "the ends")
    # The impostor's supervisor now looks like another process that got its pid.
    impostor_run = services["impostor"]["startOperation"]["id"]
    impostor_state = run_dir(settings, workspace.id, impostor_run) / "state.json"
    genuine = impostor_state.read_text()
    forged = json.loads(genuine)
    forged["supervisor_start_ticks"] += 1
    impostor_state.write_text(json.dumps(forged))

    try:
        async with serve_in_process(settings) as api:
            state = await workspace_state(api, workspace)
            now = {s["name"]: s for s in state["services"]}
            assert now["web"]["status"] == "RUNNING" and now["web"]["pid"] == web["pid"]
            assert now["late"]["status"] == "RUNNING"
            assert (now["crasher"]["status"], now["crasher"]["exitCode"]) == ("FAILED", 4)
            assert now["impostor"]["status"] == "FAILED"
            assert "interrupted" in now["impostor"]["failureReason"]
            assert pid_alive(services["impostor"]["pid"])  # not ours: never signalled
            ended_as = {op["id"]: (op["status"], op["exitCode"]) for op in state["operations"]}
            assert ended_as[job["id"]] == ("FAILED", 7)
            assert ended_as[str(provision.id)] == ("SUCCEEDED", 0)
            assert ended_as[str(never.id)] == ("FAILED", None)
            (never_now,) = [op for op in state["operations"] if op["id"] == str(never.id)]
            assert "interrupted" in never_now["stderrExcerpt"]

            # The adopted web service's log keeps growing, and it is still followed.
            log_id = now["web"]["startOperation"]["id"]
            await get_json(f"{web['url']}/env")
            await until_log_contains(api, log_id, "GET /env")
            (workspace.cwd / "late").touch()
            late = await until_service(api, workspace, "late", lambda s: s["status"] != "RUNNING")
            assert (late["status"], late["exitCode"]) == ("FAILED", 5)
            result = await stop(api, workspace, "web")
            assert result["services"][0]["status"] == "STOPPED"
            assert not pid_alive(web["pid"])
    finally:
        impostor_state.write_text(genuine)  # so that teardown can stop it
