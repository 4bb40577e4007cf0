from __future__ import annotations

from typing import Annotated

import strawberry

from worksite.api.context import Info
from worksite.api.errors import Errors, returns_errors
from worksite.api.inputs import provided
from worksite.api.types.agent import Run, run_type
from worksite.api.types.enums import IssuePriority, IssueStatus, RunStatus, WorkspaceMode
from worksite.api.types.issue import Issue, issue_type
from worksite.api.types.operation import ProvisionFailedError
from worksite.api.types.workspace import ExecutionWorkspace, workspace_type
from worksite.domain import checkout, issues

IssueResult = Annotated[Issue | Errors, strawberry.union("IssueResult")]
RunResult = Annotated[Run | Errors, strawberry.union("RunResult")]


@strawberry.type
class CheckoutIssueSuccess:
    run: Run
    workspace: ExecutionWorkspace


CheckoutIssueResult = Annotated[
    CheckoutIssueSuccess | ProvisionFailedError | Errors,
    strawberry.union("CheckoutIssueResult"),
]


@strawberry.input
class IssueInput:
    title: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    status: IssueStatus | None = strawberry.UNSET
    priority: IssuePriority | None = strawberry.UNSET
    assignee_id: strawberry.ID | None = strawberry.UNSET
    parent_id: strawberry.ID | None = strawberry.UNSET
    inherit_execution_workspace_from_issue_id: strawberry.ID | None = strawberry.UNSET
    workspace_mode: WorkspaceMode | None = strawberry.field(
        default=strawberry.UNSET, description="Null: use the project's default."
    )


@strawberry.input
class CreateIssueInput(IssueInput):
    project_id: strawberry.ID


@strawberry.type
class IssueMutations:
    @strawberry.mutation
    @returns_errors
    async def create_issue(self, info: Info, input: CreateIssueInput) -> IssueResult:
        fields = provided(input)
        project_id = fields.pop("project_id")
        return issue_type(await issues.create_issue(info.context.principal, project_id, fields))

    @strawberry.mutation
    @returns_errors
    async def update_issue(self, info: Info, id: strawberry.ID, input: IssueInput) -> IssueResult:
        return issue_type(await issues.update_issue(info.context.principal, id, provided(input)))

    @strawberry.mutation(description="As the calling agent: resolve the workspace, start a run.")
    @returns_errors
    async def checkout_issue(self, info: Info, issue_id: strawberry.ID) -> CheckoutIssueResult:
        run = await checkout.checkout_issue(info.context.settings, info.context.principal, issue_id)
        workspace = await run.workspace
        return CheckoutIssueSuccess(run=run_type(run), workspace=workspace_type(workspace))

    @strawberry.mutation
    @returns_errors
    async def finish_run(self, info: Info, run_id: strawberry.ID, status: RunStatus) -> RunResult:
        return run_type(await checkout.finish_run(info.context.principal, run_id, status))
