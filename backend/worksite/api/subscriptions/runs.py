from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Annotated

import strawberry

from worksite.api.context import Info
from worksite.api.errors import InvalidInputError, NotFoundError
from worksite.api.subscriptions import events
from worksite.api.types.agent import Run, run_type
from worksite.domain import live

RunChangedEvent = Annotated[
    Run | NotFoundError | InvalidInputError, strawberry.union("RunChangedEvent")
]


@strawberry.type
class RunSubscriptions:
    @strawberry.subscription(
        description="The runs in progress on the project's issues, then each run as "
        "it starts and as it ends."
    )
    async def run_changed(
        self, info: Info, project_id: strawberry.ID
    ) -> AsyncGenerator[RunChangedEvent, None]:
        stream = live.run_changes(info.context.principal, project_id)
        async for event in events(info, stream, run_type):
            yield event
