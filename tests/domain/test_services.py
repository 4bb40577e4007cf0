"""Races inside a service's start that the API tests cannot stage on purpose."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.support.api import Api
from tests.support.services import pid_alive, runtime_workspace, stop
from worksite.domain import service_state, services
from worksite.domain.auth import OPERATOR
from worksite.models import RuntimeService
from worksite.providers.local import LocalHost

QUICK = {
    "name": "quick",
    "kind": "service",
    "command": "sleep 600",
    "readiness": {"command": "true", "timeoutSeconds": 30},
}


async def test_a_run_the_monitor_judged_ready_before_the_launch_returned_keeps_its_pids(
    api: Api, git_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    workspace = await runtime_workspace(api, git_repo, [QUICK])
    spawn = LocalHost.spawn_supervised

    async def spawn_then_ready(host: LocalHost, *args: Any, **kwargs: Any) -> Any:
        state = await spawn(host, *args, **kwargs)
        # The monitor saw state.json and the readiness check answered, all before
        # the launcher's exit reached the server.
        row = await RuntimeService.get(workspace_id=workspace.id, name="quick")
        assert await service_state.mark_ready(row)
        return state

    monkeypatch.setattr(LocalHost, "spawn_supervised", spawn_then_ready)

    (quick,) = await services.start(api.settings, OPERATOR, workspace.id, "quick")

    assert quick.status.value == "running"
    assert quick.pid is not None and quick.supervisor_pid is not None
    result = await stop(api, workspace, "quick")
    assert result["services"][0]["status"] == "STOPPED", result
    assert not pid_alive(quick.pid)
