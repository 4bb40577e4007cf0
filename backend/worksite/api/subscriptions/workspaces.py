from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Annotated

import strawberry

from worksite.api.context import Info
from worksite.api.errors import InvalidInputError, NotFoundError
from worksite.api.subscriptions import events
from worksite.api.types.workspace import ExecutionWorkspace, workspace_type
from worksite.domain import live

WorkspaceChangedEvent = Annotated[
    ExecutionWorkspace | NotFoundError | InvalidInputError,
    strawberry.union("WorkspaceChangedEvent"),
]


@strawberry.type
class WorkspaceSubscriptions:
    @strawberry.subscription(
        description="The project's open workspaces, then each workspace as it is "
        "created or its settings or status change."
    )
    async def workspace_changed(
        self, info: Info, project_id: strawberry.ID
    ) -> AsyncGenerator[WorkspaceChangedEvent, None]:
        stream = live.workspace_changes(info.context.principal, project_id)
        async for event in events(info, stream, workspace_type):
            yield event
