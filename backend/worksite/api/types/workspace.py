from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated
from uuid import UUID

import strawberry
from strawberry.scalars import JSON

from worksite.api.context import Info
from worksite.api.types.close import CloseReadiness, close_readiness_type
from worksite.api.types.enums import (
    CommandKind,
    ProviderType,
    RuntimeConfigSource,
    WorkspaceMode,
    WorkspaceStatus,
)
from worksite.api.types.environment import Environment, environment_type
from worksite.api.types.operation import WorkspaceOperation, operation_type
from worksite.api.types.project import (
    Project,
    ProjectWorkspace,
    project_type,
    project_workspace_type,
)
from worksite.api.types.service import RuntimeService, service_type
from worksite.domain import close, operations, runtime_config
from worksite.domain.workspaces import effective_command
from worksite.models import ExecutionWorkspace as WorkspaceModel
from worksite.models import ProjectWorkspace as ProjectWorkspaceModel
from worksite.models.enums import WorkspaceStatus as Status

if TYPE_CHECKING:
    from worksite.api.types.issue import Issue

IssueType = Annotated["Issue", strawberry.lazy("worksite.api.types.issue")]


@strawberry.type
class WorkspaceCommand:
    """A service or job of the effective runtime config."""

    name: str
    kind: CommandKind
    command: str
    cwd: str | None
    port: str | None = strawberry.field(description='A port number, "auto", or null.')
    readiness: JSON | None
    env: JSON
    workspace_id: strawberry.Private[UUID]

    @strawberry.field(description="For a service: its current or last run; null before the first.")
    async def service(self, info: Info) -> RuntimeService | None:
        if self.kind != CommandKind.SERVICE:
            return None
        rows = await info.context.loaders.services_of_workspace.load(self.workspace_id)
        row = next((row for row in rows if row.name == self.name), None)
        return service_type(row) if row else None


@strawberry.type
class ExecutionWorkspace:
    """One concrete working directory tied to task runs."""

    id: strawberry.ID
    name: str
    mode: WorkspaceMode
    provider_type: ProviderType
    status: WorkspaceStatus
    branch_name: str
    cwd: str
    provider_ref: str
    repo_url: str
    base_ref: str
    provision_command: str = strawberry.field(description="This workspace's own; empty inherits.")
    cleanup_command: str = strawberry.field(description="This workspace's own; empty inherits.")
    teardown_command: str = strawberry.field(description="This workspace's own; empty inherits.")
    runtime_override: JSON | None
    opened_at: datetime
    last_used_at: datetime
    closed_at: datetime | None
    cleanup_eligible_at: datetime | None
    cleanup_reason: str | None
    provisioned: bool
    saved_work_ref: str | None = strawberry.field(
        description="Where close saved uncommitted and unmerged work: a ref in the repository."
    )
    model: strawberry.Private[WorkspaceModel]

    async def _project_workspace(self, info: Info) -> ProjectWorkspaceModel:
        return await info.context.loaders.project_workspace.load(self.model.project_workspace_id)  # type: ignore[attr-defined,no-any-return]

    @strawberry.field
    async def effective_provision_command(self, info: Info) -> str:
        return effective_command(
            self.model, await self._project_workspace(info), "provision_command"
        )

    @strawberry.field
    async def effective_cleanup_command(self, info: Info) -> str:
        return effective_command(self.model, await self._project_workspace(info), "cleanup_command")

    @strawberry.field
    async def effective_teardown_command(self, info: Info) -> str:
        return effective_command(
            self.model, await self._project_workspace(info), "teardown_command"
        )

    @strawberry.field
    async def runtime_config_source(self, info: Info) -> RuntimeConfigSource:
        _, source = runtime_config.effective(
            self.model.runtime_override, (await self._project_workspace(info)).runtime_config
        )
        return source

    @strawberry.field
    async def effective_runtime_config(self, info: Info) -> JSON | None:
        config, _ = runtime_config.effective(
            self.model.runtime_override, (await self._project_workspace(info)).runtime_config
        )
        return config

    @strawberry.field
    async def commands(self, info: Info) -> list[WorkspaceCommand]:
        config, _ = runtime_config.effective(
            self.model.runtime_override, (await self._project_workspace(info)).runtime_config
        )
        return [
            WorkspaceCommand(
                name=c.name,
                kind=CommandKind(c.kind),
                command=c.command,
                cwd=c.cwd,
                port=None if c.port is None else str(c.port),
                readiness=(config_entry(config, c.name) or {}).get("readiness"),
                env=dict(c.env),
                workspace_id=self.model.id,
            )
            for c in runtime_config.commands_of(config)
        ]

    @strawberry.field
    async def project(self, info: Info) -> Project:
        return project_type(await info.context.loaders.project.load(self.model.project_id))  # type: ignore[attr-defined]

    @strawberry.field
    async def project_workspace(self, info: Info) -> ProjectWorkspace:
        return project_workspace_type(await self._project_workspace(info))

    @strawberry.field
    async def environment(self, info: Info) -> Environment:
        environment_id = self.model.environment_id  # type: ignore[attr-defined]
        return environment_type(await info.context.loaders.environment.load(environment_id))

    @strawberry.field
    async def source_issue(self, info: Info) -> IssueType | None:
        from worksite.api.types.issue import issue_type

        issue_id = self.model.source_issue_id  # type: ignore[attr-defined]
        row = await info.context.loaders.issue.load(issue_id) if issue_id else None
        return issue_type(row) if row else None

    @strawberry.field
    async def derived_from(self, info: Info) -> ExecutionWorkspace | None:
        origin_id = self.model.derived_from_id  # type: ignore[attr-defined]
        row = await info.context.loaders.workspace.load(origin_id) if origin_id else None
        return workspace_type(row) if row else None

    @strawberry.field(description="Every issue ever attached to this workspace.")
    async def issues(self, info: Info) -> list[IssueType]:
        from worksite.api.types.issue import issue_type

        rows = await info.context.loaders.issues_of_workspace.load(self.model.id)
        return [issue_type(row) for row in rows]

    @strawberry.field(description="Services that have been started here, by name.")
    async def services(self, info: Info) -> list[RuntimeService]:
        rows = await info.context.loaders.services_of_workspace.load(self.model.id)
        return [service_type(row) for row in rows]

    @strawberry.field(
        description="Operations, newest first: the newest `limit` (at most 1000), or "
        "with `before` (an operation's id) the next `limit` older than that one."
    )
    async def operations(
        self, info: Info, limit: int = 100, before: strawberry.ID | None = None
    ) -> list[WorkspaceOperation]:
        limit = max(0, min(limit, 1000))
        if before is not None:
            rows = await operations.older_than(self.model, before, limit)
        else:
            rows = await info.context.loaders.operations_of_workspace.load(self.model.id)
        return [operation_type(row) for row in rows[:limit]]

    @strawberry.field(description="What closing would do and what stands in the way.")
    async def close_readiness(self, info: Info) -> CloseReadiness:
        return close_readiness_type(await close.readiness(info.context.settings, self.model))

    @strawberry.field(
        description="How the worktree differs from the record (it is checked on disk)."
    )
    async def drift(self, info: Info) -> list[str]:
        return await close.current_drift(info.context.settings, self.model)


def config_entry(config: dict[str, object] | None, name: str) -> dict[str, object] | None:
    for entry in (config or {}).get("commands", []):  # type: ignore[attr-defined]
        if entry["name"] == name:
            return entry  # type: ignore[no-any-return]
    return None


def workspace_type(row: WorkspaceModel) -> ExecutionWorkspace:
    return ExecutionWorkspace(
        id=strawberry.ID(str(row.id)),
        name=row.name,
        mode=row.mode,
        provider_type=row.provider_type,
        status=row.status,
        branch_name=row.branch_name,
        cwd=row.cwd,
        provider_ref=row.provider_ref,
        repo_url=row.repo_url,
        base_ref=row.base_ref,
        provision_command=row.provision_command,
        cleanup_command=row.cleanup_command,
        teardown_command=row.teardown_command,
        runtime_override=row.runtime_override,
        opened_at=row.opened_at,
        last_used_at=row.last_used_at,
        closed_at=row.closed_at,
        cleanup_eligible_at=row.cleanup_eligible_at,
        cleanup_reason=row.cleanup_reason,
        provisioned=row.provisioned,
        saved_work_ref=row.saved_work_ref,
        model=row,
    )


async def list_workspaces(
    project_id: UUID | None, status: Status | None, include_archived: bool
) -> list[ExecutionWorkspace]:
    query = WorkspaceModel.all().order_by("-opened_at")
    if project_id is not None:
        query = query.filter(project_id=project_id)
    if status is not None:
        query = query.filter(status=status)
    elif not include_archived:
        query = query.exclude(status=Status.ARCHIVED)
    return [workspace_type(row) for row in await query]
