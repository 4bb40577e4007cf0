from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Annotated

import strawberry

from worksite.api.context import Info
from worksite.api.errors import (
    ConflictError,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
    WorkspaceClosedError,
)
from worksite.api.subscriptions import events
from worksite.api.types.operation import OutputChunk, output_chunk_type
from worksite.api.types.service import RuntimeService, service_type
from worksite.domain import live

ServiceStatusEvent = Annotated[
    RuntimeService | WorkspaceClosedError | NotFoundError | ForbiddenError | InvalidInputError,
    strawberry.union("ServiceStatusEvent"),
]
ServiceLogEvent = Annotated[
    OutputChunk | NotFoundError | ForbiddenError | InvalidInputError | ConflictError,
    strawberry.union("ServiceLogEvent"),
]


@strawberry.type
class ServiceSubscriptions:
    @strawberry.subscription(
        description="Every service of the workspace as it is now, then each change: "
        "starting, running, stopping, stopped, failed, health."
    )
    async def service_status(
        self, info: Info, workspace_id: strawberry.ID
    ) -> AsyncGenerator[ServiceStatusEvent, None]:
        stream = live.service_status(info.context.principal, workspace_id)
        async for event in events(info, stream, service_type):
            yield event

    @strawberry.subscription(
        description="The output of the service's current (or last) run from `offset` "
        "(bytes), then live; completes once that run has ended and its output is "
        "delivered. A restart begins a new run with a log of its own: to resume, "
        "give the `operationId` of the chunks received so far with the offset."
    )
    async def service_log(
        self,
        info: Info,
        workspace_id: strawberry.ID,
        name: str,
        offset: int = 0,
        operation_id: strawberry.ID | None = None,
    ) -> AsyncGenerator[ServiceLogEvent, None]:
        stream = live.service_log(
            info.context.settings,
            info.context.principal,
            workspace_id,
            name,
            offset,
            operation_id,
        )
        async for event in events(info, stream, output_chunk_type):
            yield event
