from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from worksite.api.context import Info
from worksite.api.types.enums import ServiceHealth, ServiceStatus
from worksite.api.types.operation import WorkspaceOperation, operation_type
from worksite.models import RuntimeService as ServiceModel

if TYPE_CHECKING:
    from worksite.api.types.workspace import ExecutionWorkspace

WorkspaceType = Annotated["ExecutionWorkspace", strawberry.lazy("worksite.api.types.workspace")]


@strawberry.type
class RuntimeService:
    """A service of a workspace, one per command name: its current run, or its last."""

    id: strawberry.ID
    name: str
    status: ServiceStatus
    health: ServiceHealth
    command: str = strawberry.field(description="The shell command of the current or last run.")
    cwd: str = strawberry.field(description="Where it runs, symlinks resolved.")
    pid: int | None = strawberry.field(description="The command's process id.")
    port: int | None = strawberry.field(description="The port leased to it, given as PORT.")
    url: str | None
    started_at: datetime | None
    ready_at: datetime | None
    stopped_at: datetime | None
    exit_code: int | None = strawberry.field(description="128 + n when killed by signal n.")
    failure_reason: str | None = strawberry.field(description="Why it is FAILED.")
    model: strawberry.Private[ServiceModel]

    @strawberry.field(
        description="The operation of the current or last run; its log is the output."
    )
    async def start_operation(self, info: Info) -> WorkspaceOperation | None:
        operation_id = self.model.start_operation_id  # type: ignore[attr-defined]
        row = await info.context.loaders.operation.load(operation_id) if operation_id else None
        return operation_type(row) if row else None

    @strawberry.field
    async def workspace(self, info: Info) -> WorkspaceType:
        from worksite.api.types.workspace import workspace_type

        row = await info.context.loaders.workspace.load(self.model.workspace_id)  # type: ignore[attr-defined]
        return workspace_type(row)


def service_type(row: ServiceModel) -> RuntimeService:
    return RuntimeService(
        id=strawberry.ID(str(row.id)),
        name=row.name,
        status=row.status,
        health=row.health,
        command=row.command,
        cwd=row.cwd,
        pid=row.pid,
        port=row.port,
        url=row.url,
        started_at=row.started_at,
        ready_at=row.ready_at,
        stopped_at=row.stopped_at,
        exit_code=row.exit_code,
        failure_reason=row.failure_reason,
        model=row,
    )
