from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.scalars import JSON

from worksite.api.context import Info
from worksite.api.types.enums import WorkspaceMode, WorkspaceStatus
from worksite.api.types.environment import Environment, environment_type
from worksite.models import Issue as IssueModel
from worksite.models import Project as ProjectModel
from worksite.models import ProjectWorkspace as ProjectWorkspaceModel

if TYPE_CHECKING:
    from worksite.api.types.issue import Issue
    from worksite.api.types.workspace import ExecutionWorkspace

WorkspaceType = Annotated["ExecutionWorkspace", strawberry.lazy("worksite.api.types.workspace")]
IssueType = Annotated["Issue", strawberry.lazy("worksite.api.types.issue")]


@strawberry.type
class Project:
    """A codebase under management."""

    id: strawberry.ID
    key: str
    name: str
    description: str
    default_workspace_mode: WorkspaceMode
    cleanup_retention_seconds: int | None = strawberry.field(
        description="Finished workspaces idle this long are closed; null: never."
    )
    created_at: datetime
    model: strawberry.Private[ProjectModel]

    @strawberry.field
    async def workspaces(self) -> list[ProjectWorkspace]:
        rows = await ProjectWorkspaceModel.filter(project_id=self.model.id).order_by("created_at")
        return [project_workspace_type(row) for row in rows]

    @strawberry.field
    async def primary_workspace(self) -> ProjectWorkspace | None:
        row = await ProjectWorkspaceModel.filter(project_id=self.model.id, is_primary=True).first()
        return project_workspace_type(row) if row else None

    @strawberry.field(description="Archived workspaces are included only when asked for.")
    async def execution_workspaces(
        self, status: WorkspaceStatus | None = None, include_archived: bool = False
    ) -> list[WorkspaceType]:
        from worksite.api.types.workspace import list_workspaces

        return await list_workspaces(self.model.id, status, include_archived)

    @strawberry.field
    async def issues(self) -> list[IssueType]:
        from worksite.api.types.issue import issue_type

        rows = await IssueModel.filter(project_id=self.model.id).order_by("number")
        return [issue_type(row) for row in rows]


@strawberry.type
class ProjectWorkspace:
    """The base configuration of a project: where the code lives and how to run it."""

    id: strawberry.ID
    name: str
    is_primary: bool
    repo_url: str
    base_ref: str
    cwd: str
    provision_command: str
    cleanup_command: str
    teardown_command: str
    runtime_config: JSON | None
    model: strawberry.Private[ProjectWorkspaceModel]

    @strawberry.field
    async def project(self, info: Info) -> Project:
        return project_type(await info.context.loaders.project.load(self.model.project_id))  # type: ignore[attr-defined]

    @strawberry.field
    async def environment(self, info: Info) -> Environment:
        row = await info.context.loaders.environment.load(self.model.environment_id)  # type: ignore[attr-defined]
        return environment_type(row)


def project_type(row: ProjectModel) -> Project:
    return Project(
        id=strawberry.ID(str(row.id)),
        key=row.key,
        name=row.name,
        description=row.description,
        default_workspace_mode=row.default_workspace_mode,
        cleanup_retention_seconds=row.cleanup_retention_seconds,
        created_at=row.created_at,
        model=row,
    )


def project_workspace_type(row: ProjectWorkspaceModel) -> ProjectWorkspace:
    return ProjectWorkspace(
        id=strawberry.ID(str(row.id)),
        name=row.name,
        is_primary=row.is_primary,
        repo_url=row.repo_url,
        base_ref=row.base_ref,
        cwd=row.cwd,
        provision_command=row.provision_command,
        cleanup_command=row.cleanup_command,
        teardown_command=row.teardown_command,
        runtime_config=row.runtime_config,
        model=row,
    )
