from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.scalars import JSON

from worksite.api.context import Info
from worksite.api.errors import Errors, returns_errors
from worksite.api.inputs import provided
from worksite.api.types.enums import WorkspaceMode
from worksite.api.types.project import (
    Project,
    ProjectWorkspace,
    project_type,
    project_workspace_type,
)
from worksite.domain import projects

ProjectResult = Annotated[
    Project | Errors,
    strawberry.union("ProjectResult"),
]
ProjectWorkspaceResult = Annotated[
    ProjectWorkspace | Errors,
    strawberry.union("ProjectWorkspaceResult"),
]


@strawberry.input
class CreateProjectInput:
    key: str = strawberry.field(description="2 to 10 capitals or digits, like PAP.")
    name: str
    description: str = ""
    default_workspace_mode: WorkspaceMode = WorkspaceMode.ISOLATED  # type: ignore[assignment]


@strawberry.input
class UpdateProjectInput:
    name: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    default_workspace_mode: WorkspaceMode | None = strawberry.UNSET
    cleanup_retention_seconds: int | None = strawberry.field(
        default=strawberry.UNSET,
        description="Close finished workspaces idle this long; null turns it off.",
    )


@strawberry.input
class ProjectWorkspaceInput:
    name: str | None = strawberry.UNSET
    repo_url: str | None = strawberry.UNSET
    base_ref: str | None = strawberry.UNSET
    cwd: str | None = strawberry.field(
        default=strawberry.UNSET, description="The primary checkout's absolute path."
    )
    environment_id: strawberry.ID | None = strawberry.UNSET
    is_primary: bool | None = strawberry.UNSET
    provision_command: str | None = strawberry.UNSET
    cleanup_command: str | None = strawberry.UNSET
    teardown_command: str | None = strawberry.UNSET
    runtime_config: JSON | None = strawberry.field(
        default=strawberry.UNSET, description="JSON text or an object; null clears it."
    )


@strawberry.input
class CreateProjectWorkspaceInput(ProjectWorkspaceInput):
    project_id: strawberry.ID


@strawberry.type
class ProjectMutations:
    @strawberry.mutation
    @returns_errors
    async def create_project(self, info: Info, input: CreateProjectInput) -> ProjectResult:
        row = await projects.create_project(
            info.context.principal,
            input.key,
            input.name,
            input.description,
            input.default_workspace_mode,
        )
        return project_type(row)

    @strawberry.mutation
    @returns_errors
    async def update_project(
        self, info: Info, id: strawberry.ID, input: UpdateProjectInput
    ) -> ProjectResult:
        row = await projects.update_project(info.context.principal, id, provided(input))
        return project_type(row)

    @strawberry.mutation
    @returns_errors
    async def create_project_workspace(
        self, info: Info, input: CreateProjectWorkspaceInput
    ) -> ProjectWorkspaceResult:
        fields = provided(input)
        project_id = fields.pop("project_id")
        row = await projects.create_project_workspace(info.context.principal, project_id, fields)
        return project_workspace_type(row)

    @strawberry.mutation
    @returns_errors
    async def update_project_workspace(
        self, info: Info, id: strawberry.ID, input: ProjectWorkspaceInput
    ) -> ProjectWorkspaceResult:
        row = await projects.update_project_workspace(info.context.principal, id, provided(input))
        return project_workspace_type(row)
