from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from worksite.api.context import Info
from worksite.api.types.enums import RunStatus, ViewerRole
from worksite.models import Agent as AgentModel
from worksite.models import Run as RunModel

if TYPE_CHECKING:
    from worksite.api.types.issue import Issue
    from worksite.api.types.workspace import ExecutionWorkspace

IssueType = Annotated["Issue", strawberry.lazy("worksite.api.types.issue")]
WorkspaceType = Annotated["ExecutionWorkspace", strawberry.lazy("worksite.api.types.workspace")]


@strawberry.type
class Agent:
    """A coding agent. Its token is shown once, when it is created."""

    id: strawberry.ID
    name: str
    created_at: datetime
    revoked_at: datetime | None = strawberry.field(
        description="When its token was revoked; null while it works."
    )


@strawberry.type
class Viewer:
    """Who the bearer token belongs to."""

    role: ViewerRole
    name: str
    agent: Agent | None


@strawberry.type
class Run:
    """The work of one agent on one issue, from checkout to finish."""

    id: strawberry.ID
    status: RunStatus
    started_at: datetime
    finished_at: datetime | None
    model: strawberry.Private[RunModel]

    @strawberry.field
    async def issue(self, info: Info) -> IssueType:
        from worksite.api.types.issue import issue_type

        return issue_type(await info.context.loaders.issue.load(self.model.issue_id))  # type: ignore[attr-defined]

    @strawberry.field
    async def agent(self, info: Info) -> Agent:
        return agent_type(await info.context.loaders.agent.load(self.model.agent_id))  # type: ignore[attr-defined]

    @strawberry.field
    async def workspace(self, info: Info) -> WorkspaceType | None:
        from worksite.api.types.workspace import workspace_type

        workspace_id = self.model.workspace_id  # type: ignore[attr-defined]
        row = await info.context.loaders.workspace.load(workspace_id) if workspace_id else None
        return workspace_type(row) if row else None


def agent_type(row: AgentModel) -> Agent:
    return Agent(
        id=strawberry.ID(str(row.id)),
        name=row.name,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
    )


def run_type(row: RunModel) -> Run:
    return Run(
        id=strawberry.ID(str(row.id)),
        status=row.status,
        started_at=row.started_at,
        finished_at=row.finished_at,
        model=row,
    )
