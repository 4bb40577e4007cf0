"""DataLoaders: lists of 200 workspaces cost a few queries, not a few per row."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any, Generic, TypeVar
from uuid import UUID

from strawberry.dataloader import DataLoader
from tortoise.models import Model

from worksite.models import (
    Environment,
    ExecutionWorkspace,
    Issue,
    IssueWorkspaceLink,
    Operation,
    Project,
    ProjectWorkspace,
    Run,
    RuntimeService,
    Agent,
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

    def __init__(self, model: type[M], column: str, order: str) -> None:
        async def load(keys: Sequence[UUID]) -> list[list[M]]:
            groups: defaultdict[UUID, list[M]] = defaultdict(list)
            rows = await model.filter(**{f"{column}__in": list(keys)}).order_by(order)
            for row in rows:
                groups[getattr(row, column)].append(row)
            return [groups[key] for key in keys]

        super().__init__(load_fn=load)


class LinkedIssues(DataLoader[UUID, list[Issue]]):
    """Every issue ever attached to each workspace, oldest link first."""

    def __init__(self) -> None:
        async def load(keys: Sequence[UUID]) -> list[list[Issue]]:
            links = await IssueWorkspaceLink.filter(workspace_id__in=list(keys)).order_by(
                "linked_at", "id"
            ).prefetch_related("issue")
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
    def __init__(self) -> None:
        self.project = ById(Project)
        self.project_workspace = ById(ProjectWorkspace)
        self.environment = ById(Environment)
        self.workspace = ById(ExecutionWorkspace)
        self.issue = ById(Issue)
        self.agent = ById(Agent)
        self.run = ById(Run)
        self.operation = ById(Operation)
        self.operations_of_workspace = ManyBy(Operation, "workspace_id", "-started_at")
        self.services_of_workspace = ManyBy(RuntimeService, "workspace_id", "name")
        self.issues_of_workspace = LinkedIssues()
        self.runs_of_issue = ManyBy(Run, "issue_id", "-started_at")
        self.children_of_issue = ManyBy(Issue, "parent_id", "number")
        self.live_run = LiveRuns()
