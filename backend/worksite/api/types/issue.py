from __future__ import annotations

from datetime import datetime

import strawberry

from worksite.api.context import Info
from worksite.api.types.agent import Agent, Run, agent_type, run_type
from worksite.api.types.enums import IssuePriority, IssueStatus, WorkspaceMode
from worksite.api.types.project import Project, project_type
from worksite.api.types.workspace import ExecutionWorkspace, workspace_type
from worksite.models import Issue as IssueModel


@strawberry.type
class Issue:
    """A unit of work, identified by project key and number (`PAP-12`)."""

    id: strawberry.ID
    identifier: str
    title: str
    description: str
    status: IssueStatus
    priority: IssuePriority
    workspace_mode: WorkspaceMode | None = strawberry.field(
        description="Null: the project's default mode decides."
    )
    created_at: datetime
    updated_at: datetime
    model: strawberry.Private[IssueModel]

    async def _issue(self, info: Info, issue_id: object) -> Issue | None:
        row = await info.context.loaders.issue.load(issue_id) if issue_id else None
        return issue_type(row) if row else None

    @strawberry.field
    async def project(self, info: Info) -> Project:
        return project_type(await info.context.loaders.project.load(self.model.project_id))  # type: ignore[attr-defined]

    @strawberry.field
    async def assignee(self, info: Info) -> Agent | None:
        agent_id = self.model.assignee_id  # type: ignore[attr-defined]
        row = await info.context.loaders.agent.load(agent_id) if agent_id else None
        return agent_type(row) if row else None

    @strawberry.field
    async def parent(self, info: Info) -> Issue | None:
        return await self._issue(info, self.model.parent_id)  # type: ignore[attr-defined]

    @strawberry.field
    async def inherit_execution_workspace_from(self, info: Info) -> Issue | None:
        return await self._issue(info, self.model.inherit_workspace_from_id)  # type: ignore[attr-defined]

    @strawberry.field
    async def children(self, info: Info) -> list[Issue]:
        rows = await info.context.loaders.children_of_issue.load(self.model.id)
        return [issue_type(row) for row in rows]

    @strawberry.field
    async def execution_workspace(self, info: Info) -> ExecutionWorkspace | None:
        workspace_id = self.model.execution_workspace_id  # type: ignore[attr-defined]
        row = await info.context.loaders.workspace.load(workspace_id) if workspace_id else None
        return workspace_type(row) if row else None

    @strawberry.field(description="The run in progress on this issue, if any.")
    async def live_run(self, info: Info) -> Run | None:
        row = await info.context.loaders.live_run.load(self.model.id)
        return run_type(row) if row else None

    @strawberry.field(description="Runs, newest first.")
    async def runs(self, info: Info) -> list[Run]:
        rows = await info.context.loaders.runs_of_issue.load(self.model.id)
        return [run_type(row) for row in rows]


def issue_type(row: IssueModel) -> Issue:
    return Issue(
        id=strawberry.ID(str(row.id)),
        identifier=row.identifier,
        title=row.title,
        description=row.description,
        status=row.status,
        priority=row.priority,
        workspace_mode=row.workspace_mode,
        created_at=row.created_at,
        updated_at=row.updated_at,
        model=row,
    )
