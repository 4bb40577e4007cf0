from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.scalars import JSON

from worksite.api.context import Info
from worksite.api.errors import Errors, returns_errors
from worksite.api.inputs import provided
from worksite.api.types.operation import ProvisionFailedError
from worksite.api.types.workspace import ExecutionWorkspace, workspace_type
from worksite.domain import checkout, close, workspaces

WorkspaceResult = Annotated[ExecutionWorkspace | Errors, strawberry.union("WorkspaceResult")]
DeriveWorkspaceResult = Annotated[
    ExecutionWorkspace | ProvisionFailedError | Errors,
    strawberry.union("DeriveWorkspaceResult"),
]


@strawberry.input
class SaveExecutionWorkspaceInput:
    name: str | None = strawberry.UNSET
    branch_name: str | None = strawberry.UNSET
    cwd: str | None = strawberry.UNSET
    provider_ref: str | None = strawberry.UNSET
    repo_url: str | None = strawberry.UNSET
    base_ref: str | None = strawberry.UNSET
    provision_command: str | None = strawberry.UNSET
    teardown_command: str | None = strawberry.UNSET
    cleanup_command: str | None = strawberry.UNSET
    runtime_override: JSON | None = strawberry.field(
        default=strawberry.UNSET,
        description="JSON text or an object of the override; null drops it.",
    )


@strawberry.type
class WorkspaceMutations:
    @strawberry.mutation
    @returns_errors
    async def save_execution_workspace(
        self, info: Info, id: strawberry.ID, input: SaveExecutionWorkspaceInput
    ) -> WorkspaceResult:
        row = await workspaces.save_workspace(info.context.principal, id, provided(input))
        return workspace_type(row)

    @strawberry.mutation(description="Drop the override: inherit the project workspace's config.")
    @returns_errors
    async def reset_execution_workspace_runtime(
        self, info: Info, id: strawberry.ID
    ) -> WorkspaceResult:
        return workspace_type(await workspaces.reset_runtime(info.context.principal, id))

    @strawberry.mutation(description="A new isolated workspace branched from this one's branch.")
    @returns_errors
    async def derive_execution_workspace(
        self, info: Info, id: strawberry.ID
    ) -> DeriveWorkspaceResult:
        row = await checkout.derive_workspace(info.context.settings, info.context.principal, id)
        return workspace_type(row)

    @strawberry.mutation(
        description="Close (or retry a failed close): save work, cleanup, teardown, remove."
    )
    @returns_errors
    async def close_execution_workspace(
        self, info: Info, id: strawberry.ID, force: bool = False
    ) -> WorkspaceResult:
        row = await close.close_workspace(info.context.settings, info.context.principal, id, force)
        return workspace_type(row)
