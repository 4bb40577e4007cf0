from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Annotated

import strawberry

from worksite.api.context import Info
from worksite.api.errors import (
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
    WorkspaceClosedError,
)
from worksite.api.subscriptions import events
from worksite.api.types.operation import (
    OutputChunk,
    WorkspaceOperation,
    operation_type,
    output_chunk_type,
)
from worksite.domain import live

WorkspaceOperationsEvent = Annotated[
    WorkspaceOperation | WorkspaceClosedError | NotFoundError | ForbiddenError | InvalidInputError,
    strawberry.union("WorkspaceOperationsEvent"),
]
OperationLogEvent = Annotated[
    OutputChunk | NotFoundError | ForbiddenError | InvalidInputError,
    strawberry.union("OperationLogEvent"),
]


@strawberry.type
class OperationSubscriptions:
    @strawberry.subscription(
        description="The workspace's running operations, then each operation as it "
        "starts and as it finishes."
    )
    async def workspace_operations(
        self, info: Info, workspace_id: strawberry.ID
    ) -> AsyncGenerator[WorkspaceOperationsEvent, None]:
        stream = live.workspace_operations(info.context.principal, workspace_id)
        async for event in events(info, stream, operation_type):
            yield event

    @strawberry.subscription(
        description="The operation's log from `offset` (bytes), then live; completes "
        "once the operation has finished and its log is delivered."
    )
    async def operation_log(
        self, info: Info, operation_id: strawberry.ID, offset: int = 0
    ) -> AsyncGenerator[OperationLogEvent, None]:
        stream = live.operation_log(
            info.context.settings, info.context.principal, operation_id, offset
        )
        async for event in events(info, stream, output_chunk_type):
            yield event
