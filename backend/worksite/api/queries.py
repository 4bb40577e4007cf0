"""The root Query: reads that operators and agents share."""

from __future__ import annotations

import strawberry

from worksite.api.context import Info
from worksite.api.types.agent import Agent, Viewer, agent_type
from worksite.api.types.enums import ViewerRole, WorkspaceStatus
from worksite.api.types.environment import Environment, environment_type
from worksite.api.types.issue import Issue, issue_type
from worksite.api.types.operation import WorkspaceOperation, operation_type
from worksite.api.types.project import Project, project_type
from worksite.api.types.workspace import ExecutionWorkspace, list_workspaces, workspace_type
from worksite.domain import validation
from worksite.domain.errors import WorksiteError
from worksite.models import Agent as AgentModel
from worksite.models import Environment as EnvironmentModel
from worksite.models import ExecutionWorkspace as WorkspaceModel
from worksite.models import Issue as IssueModel
from worksite.models import IssueWorkspaceLink
from worksite.models import Operation as OperationModel
from worksite.models import Project as ProjectModel


async def _by_id(model: type, field: str, value: str) -> object | None:
    try:
        return await model.get_or_none(id=validation.parse_id(field, value))
    except WorksiteError:
        return None


@strawberry.type
class Query:
    @strawberry.field(description="Who the bearer token belongs to.")
    async def viewer(self, info: Info) -> Viewer:
        principal = info.context.principal
        agent = None
        if principal.agent_id is not None:
            agent = agent_type(await AgentModel.get(id=principal.agent_id))
        return Viewer(role=ViewerRole(principal.role), name=principal.name, agent=agent)

    @strawberry.field(
        description="Agents that may be assigned issues, by name; revoked ones when asked."
    )
    async def agents(self, include_revoked: bool = False) -> list[Agent]:
        query = AgentModel.all() if include_revoked else AgentModel.filter(revoked_at=None)
        return [agent_type(row) for row in await query.order_by("name")]

    @strawberry.field(description="Where workspaces can be made: the local sandbox first.")
    async def environments(self) -> list[Environment]:
        rows = await EnvironmentModel.all().order_by("created_at")
        return [environment_type(row) for row in rows]

    @strawberry.field
    async def environment(self, id: strawberry.ID) -> Environment | None:
        row = await _by_id(EnvironmentModel, "id", id)
        return environment_type(row) if row else None  # type: ignore[arg-type]

    @strawberry.field
    async def projects(self) -> list[Project]:
        return [project_type(row) for row in await ProjectModel.all().order_by("key")]

    @strawberry.field
    async def project(self, id: strawberry.ID) -> Project | None:
        row = await _by_id(ProjectModel, "id", id)
        return project_type(row) if row else None  # type: ignore[arg-type]

    @strawberry.field(description="Archived ones only when `status` asks or includeArchived.")
    async def execution_workspaces(
        self,
        project_id: strawberry.ID | None = None,
        status: WorkspaceStatus | None = None,
        include_archived: bool = False,
    ) -> list[ExecutionWorkspace]:
        project = validation.parse_id("projectId", project_id) if project_id else None
        return await list_workspaces(project, status, include_archived)

    @strawberry.field
    async def execution_workspace(self, id: strawberry.ID) -> ExecutionWorkspace | None:
        row = await _by_id(WorkspaceModel, "id", id)
        return workspace_type(row) if row else None  # type: ignore[arg-type]

    @strawberry.field(description="Issues of a project, or linked to a workspace.")
    async def issues(
        self,
        project_id: strawberry.ID | None = None,
        execution_workspace_id: strawberry.ID | None = None,
    ) -> list[Issue]:
        query = IssueModel.all().order_by("number")
        if project_id:
            query = query.filter(project_id=validation.parse_id("projectId", project_id))
        if execution_workspace_id:
            workspace = validation.parse_id("executionWorkspaceId", execution_workspace_id)
            linked = IssueWorkspaceLink.filter(workspace_id=workspace).values_list(
                "issue_id", flat=True
            )
            query = query.filter(id__in=await linked)
        return [issue_type(row) for row in await query]

    @strawberry.field(description="An issue by id or by identifier (`PAP-12`).")
    async def issue(
        self, id: strawberry.ID | None = None, identifier: str | None = None
    ) -> Issue | None:
        row = None
        if id:
            row = await _by_id(IssueModel, "id", id)
        elif identifier:
            row = await IssueModel.get_or_none(identifier=identifier.strip().upper())
        return issue_type(row) if row else None  # type: ignore[arg-type]

    @strawberry.field
    async def operation(self, id: strawberry.ID) -> WorkspaceOperation | None:
        row = await _by_id(OperationModel, "id", id)
        return operation_type(row) if row else None  # type: ignore[arg-type]
