"""The database keeps one service per (workspace, name), one lease per port, and
statuses inside their enums: on SQLite and PostgreSQL alike."""

from __future__ import annotations

from pathlib import Path

import pytest
from tortoise.exceptions import IntegrityError, OperationalError

from tests.support.api import Api
from tests.support.services import runtime_workspace
from worksite.models import PortLease, RuntimeService


async def test_a_workspace_has_one_service_of_a_name(api: Api, git_repo: Path) -> None:
    workspace = await runtime_workspace(api, git_repo, [])
    await RuntimeService.create(workspace_id=workspace.id, name="web")

    with pytest.raises(IntegrityError):
        await RuntimeService.create(workspace_id=workspace.id, name="web")


async def test_a_port_is_leased_once(api: Api, git_repo: Path) -> None:
    workspace = await runtime_workspace(api, git_repo, [])
    await PortLease.create(workspace_id=workspace.id, name="web", port=20500)

    with pytest.raises(IntegrityError):
        await PortLease.create(workspace_id=workspace.id, name="api", port=20500)
    with pytest.raises(IntegrityError):
        await PortLease.create(workspace_id=workspace.id, name="web", port=20501)


@pytest.mark.parametrize("column", ["status", "health"])
async def test_service_status_and_health_stay_inside_their_enums(
    api: Api, git_repo: Path, column: str
) -> None:
    workspace = await runtime_workspace(api, git_repo, [])
    service = await RuntimeService.create(workspace_id=workspace.id, name="web")

    with pytest.raises((IntegrityError, OperationalError)):
        await RuntimeService.raw(
            f"UPDATE runtime_service SET {column} = 'sleepy' WHERE name = 'web'"
        )
    await service.refresh_from_db()
    assert service.status.value == "stopped" and service.health.value == "unknown"
    valid = {"status": "running", "health": "healthy"}[column]
    await RuntimeService.raw(f"UPDATE runtime_service SET {column} = '{valid}' WHERE name = 'web'")
    await service.refresh_from_db()
    assert getattr(service, column).value == valid
