from __future__ import annotations

from typing import Annotated

import strawberry

from worksite.api.context import Info
from worksite.api.errors import Errors, returns_errors
from worksite.api.types.service import RuntimeService, service_type
from worksite.domain import services

NAME = "The command's name; omitted means every service of the workspace."
WAIT = "Return once each service is RUNNING or FAILED, not as soon as it is launched."


@strawberry.type
class WorkspaceServicesSuccess:
    """The services an action affected, as they are now."""

    services: list[RuntimeService]


WorkspaceServicesResult = Annotated[
    WorkspaceServicesSuccess | Errors, strawberry.union("WorkspaceServicesResult")
]


def _success(rows: list) -> WorkspaceServicesSuccess:  # type: ignore[type-arg]
    return WorkspaceServicesSuccess(services=[service_type(row) for row in rows])


@strawberry.type
class ServiceMutations:
    @strawberry.mutation(description="Start a service of the workspace's runtime config.")
    @returns_errors
    async def start_workspace_service(
        self,
        info: Info,
        workspace_id: strawberry.ID,
        name: Annotated[str | None, strawberry.argument(description=NAME)] = None,
        wait: Annotated[bool, strawberry.argument(description=WAIT)] = False,
    ) -> WorkspaceServicesResult:
        context = info.context
        rows = await services.start(context.settings, context.principal, workspace_id, name, wait)
        return _success(rows)

    @strawberry.mutation(
        description="Stop a service and its whole process tree; returns once it ended."
    )
    @returns_errors
    async def stop_workspace_service(
        self,
        info: Info,
        workspace_id: strawberry.ID,
        name: Annotated[str | None, strawberry.argument(description=NAME)] = None,
    ) -> WorkspaceServicesResult:
        context = info.context
        rows = await services.stop(context.settings, context.principal, workspace_id, name)
        return _success(rows)

    @strawberry.mutation(description="Stop a service if it runs, then start it again.")
    @returns_errors
    async def restart_workspace_service(
        self,
        info: Info,
        workspace_id: strawberry.ID,
        name: Annotated[str | None, strawberry.argument(description=NAME)] = None,
        wait: Annotated[bool, strawberry.argument(description=WAIT)] = False,
    ) -> WorkspaceServicesResult:
        context = info.context
        rows = await services.restart(context.settings, context.principal, workspace_id, name, wait)
        return _success(rows)
