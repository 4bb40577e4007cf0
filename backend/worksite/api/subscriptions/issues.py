from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Annotated

import strawberry

from worksite.api.context import Info
from worksite.api.errors import InvalidInputError, NotFoundError
from worksite.api.subscriptions import events
from worksite.api.types.issue import Issue, issue_type
from worksite.domain import live

IssueChangedEvent = Annotated[
    Issue | NotFoundError | InvalidInputError, strawberry.union("IssueChangedEvent")
]


@strawberry.type
class IssueSubscriptions:
    @strawberry.subscription(
        description="The project's issues as they are now, then each issue as it is "
        "created or changed: title, status, priority, assignee, parent, workspace. An "
        "agent hears only of issues assigned to it (and once of one reassigned away)."
    )
    async def issue_changed(
        self, info: Info, project_id: strawberry.ID
    ) -> AsyncGenerator[IssueChangedEvent, None]:
        stream = live.issue_changes(info.context.principal, project_id)
        async for event in events(info, stream, issue_type):
            yield event
