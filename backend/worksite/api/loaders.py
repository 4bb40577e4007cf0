"""DataLoaders: lists of 200 workspaces cost a few queries, not a few per row."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from functools import cached_property
from typing import Any, Generic, TypeVar
from uuid import UUID

from strawberry.dataloader import DataLoader
from tortoise.models import Model

from worksite.domain import operations
from worksite.models import (
    Agent,
    Environment,
    ExecutionWorkspace,
    Issue,
    IssueWorkspaceLink,
    Operation,
    Project,
    ProjectWorkspace,
    Run,
    RuntimeService,
)

M = TypeVar("M", bound=Model)


class ById(DataLoader[UUID, Any], Generic[M]):
    def __init__(self, model: type[M]) -> None:
        async def load(keys: Sequence[UUID]) -> list[M | None]:
            rows = {row.pk: row for row in await model.filter(pk__in=list(keys))}
            return [rows.get(key) for key in keys]

        super().__init__(load_fn=load)


class ManyBy(DataLoader[UUID, list[Any]], Generic[M]):
    """Rows of `model` grouped by the value of `column`, in `order`."""

    def __init__(self, model: type[M], column: str, *order: str) -> None:
        async def load(keys: Sequence[UUID]) -> list[list[M]]:
            groups: defaultdict[UUID, list[M]] = defaultdict(list)
            rows = await model.filter(**{f"{column}__in": list(keys)}).order_by(*order)
            for row in rows:
                groups[getattr(row, column)].append(row)
            return [groups[key] for key in keys]

        super().__init__(load_fn=load)


class LinkedIssues(DataLoader[UUID, list[Issue]]):
    """Every issue ever attached to each workspace, oldest link first."""

    def __init__(self) -> None:
        async def load(keys: Sequence[UUID]) -> list[list[Issue]]:
            links = (
                await IssueWorkspaceLink.filter(workspace_id__in=list(keys))
                .order_by("linked_at", "id")
                .prefetch_related("issue")
            )
            groups: defaultdict[UUID, list[Issue]] = defaultdict(list)
            for link in links:
                groups[link.workspace_id].append(link.issue)  # type: ignore[attr-defined]
            return [groups[key] for key in keys]

        super().__init__(load_fn=load)


class LiveRuns(DataLoader[UUID, Run | None]):
    def __init__(self) -> None:
        async def load(keys: Sequence[UUID]) -> list[Run | None]:
            runs = await Run.filter(issue_id__in=list(keys), status="running").order_by(
                "started_at"
            )
            latest = {run.issue_id: run for run in runs}  # type: ignore[attr-defined]
            return [latest.get(key) for key in keys]

        super().__init__(load_fn=load)


class Loaders:
    """A request's loaders, each made on first use.

    A subscription takes a fresh set for every event it sends, and most events (log
    chunks) use none: making all of them each time cost a tenth of the server's time
    when 60 clients followed logs.
    """

    @cached_property
    def project(self) -> ById[Project]:
        return ById(Project)

    @cached_property
    def project_workspace(self) -> ById[ProjectWorkspace]:
        return ById(ProjectWorkspace)

    @cached_property
    def environment(self) -> ById[Environment]:
        return ById(Environment)

    @cached_property
    def workspace(self) -> ById[ExecutionWorkspace]:
        return ById(ExecutionWorkspace)

    @cached_property
    def issue(self) -> ById[Issue]:
        return ById(Issue)

    @cached_property
    def agent(self) -> ById[Agent]:
        return ById(Agent)

    @cached_property
    def run(self) -> ById[Run]:
        return ById(Run)

    @cached_property
    def operation(self) -> ById[Operation]:
        return ById(Operation)

    @cached_property
    def operations_of_workspace(self) -> ManyBy[Operation]:
        return ManyBy(Operation, "workspace_id", *operations.NEWEST_FIRST)

    @cached_property
    def services_of_workspace(self) -> ManyBy[RuntimeService]:
        return ManyBy(RuntimeService, "workspace_id", "name")

    @cached_property
    def issues_of_workspace(self) -> LinkedIssues:
        return LinkedIssues()

    @cached_property
    def runs_of_issue(self) -> ManyBy[Run]:
        return ManyBy(Run, "issue_id", "-started_at")

    @cached_property
    def children_of_issue(self) -> ManyBy[Issue]:
        return ManyBy(Issue, "parent_id", "number")

    @cached_property
    def live_run(self) -> LiveRuns:
        return LiveRuns()
