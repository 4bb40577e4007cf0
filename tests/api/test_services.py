"""Services with real processes in real worktrees: start, readiness, stop, ports."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support.api import Api
from tests.support.services import (
    OPERATION_LOG,
    http_service,
    get_json,
    pid_alive,
    runtime_workspace,
    service,
    started,
    stop,
    until_service,
    workspace_state,
)


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
    phases = [(op["phase"], op["status"]) for op in (await workspace_state(api, workspace))["operations"]]
    assert ("stop", "SUCCEEDED") in phases
    log = await api.gql(OPERATION_LOG, {"id": start_operation["id"], "offset": 0, "limit": 65536})
    assert "GET /env" in log["operation"]["log"]["content"]
    assert log["operation"]["log"]["complete"]
