from __future__ import annotations

from typing import Annotated

import strawberry

from worksite.api.context import Info
from worksite.api.errors import Errors, returns_errors
from worksite.api.types.operation import WorkspaceOperation, operation_type
from worksite.domain import jobs


@strawberry.type
class RunWorkspaceJobSuccess:
    """The job's operation: running, or ended with its exit code when waited for."""

    operation: WorkspaceOperation


RunWorkspaceJobResult = Annotated[
    RunWorkspaceJobSuccess | Errors, strawberry.union("RunWorkspaceJobResult")
]


@strawberry.type
class JobMutations:
    @strawberry.mutation(description="Run a job of the workspace's runtime config.")
    @returns_errors
    async def run_workspace_job(
        self,
        info: Info,
        workspace_id: strawberry.ID,
        name: str,
        wait: Annotated[
            bool, strawberry.argument(description="Return once the job has ended.")
        ] = False,
    ) -> RunWorkspaceJobResult:
        context = info.context
        row = await jobs.run(context.settings, context.principal, workspace_id, name, wait)
        return RunWorkspaceJobSuccess(operation=operation_type(row))
