"""What subscribers of live updates receive, and what they may subscribe to.

Each stream is an async generator. A bad request (an unknown id, a workspace
the caller may not read) raises before the first item; a workspace closed
under a stream raises WorkspaceClosed, which ends it. The API turns both into
typed events.

Row streams reload the row each bus event names (see worksite.events) and skip
a row that looks as it did when last sent. After a RESYNC (the subscriber fell
behind, or the bus lost its connection) they look the rows up in the database
instead: everything that changed since the subscriber was last caught up.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from tortoise.exceptions import DoesNotExist
from tortoise.expressions import Q
from tortoise.models import Model

from worksite.domain import commands, operations, validation
from worksite.domain.auth import (
    Principal,
    can_access_issue,
    can_access_workspace,
    require_workspace_access,
)
from worksite.domain.errors import Conflict, InvalidInput, WorkspaceClosed
from worksite.domain.projects import get_project
from worksite.domain.workspaces import get_workspace
from worksite.events import (
    Event,
    Subscription,
    bus,
    issues_topic,
    operations_topic,
    runs_topic,
    services_topic,
    workspaces_topic,
)
from worksite.models import ExecutionWorkspace, Issue, Operation, Run, RuntimeService
from worksite.models.enums import OperationStatus, RunStatus, WorkspaceStatus
from worksite.runtime import logs
from worksite.runtime.follow import LogFollower, OutputChunk
from worksite.settings import Settings

# How far before the last moment a subscriber was caught up to look for rows it
# may have missed: covers the time between a row's change and its event.
CATCH_UP_SLACK = timedelta(seconds=5)
# How many rows a stream remembers, to skip one that has not changed.
REMEMBERED_ROWS = 10_000
# The phases of the operations that start a run of a service (domain/services.py).
RUN_PHASES = ("start", "restart")


async def workspace_operations(
    principal: Principal, workspace_id: UUID | str
) -> AsyncIterator[Operation]:
    """The workspace's running operations, then each operation as it starts and ends."""
    workspace = await get_workspace(workspace_id)
    await require_workspace_access(principal, workspace.id)
    topic = operations_topic(workspace.id)
    closing = workspaces_topic(workspace.project_id)  # type: ignore[attr-defined]

    async with bus.subscribe(topic, closing) as events:
        await _require_open(workspace)
        sent = LastSent()
        running = Operation.filter(workspace_id=workspace.id, status=OperationStatus.RUNNING)
        rows = await running.order_by("started_at")

        while True:
            for row in rows:
                if sent.is_new(row):
                    yield row
            change = await _next_change(events)
            rows = []
            if isinstance(change, Missed):
                await _require_open(workspace)
                rows = await _operations_since(workspace.id, change.since)
            elif change.topic == topic:
                rows = await Operation.filter(id=change.id)
            elif change.id == str(workspace.id):
                await _require_open(workspace)


async def operation_log(
    settings: Settings, principal: Principal, operation_id: UUID | str, offset: int
) -> AsyncIterator[OperationOutput]:
    """The operation's output from `offset`, then live; ends once it has all been read."""
    operation = await operations.get_operation(operation_id)
    await require_workspace_access(principal, operation.workspace_id)  # type: ignore[attr-defined]
    async for output in _follow_log(settings, operation, offset):
        yield output


@dataclass(frozen=True)
class OperationOutput:
    """A chunk of the log of one operation."""

    operation_id: UUID
    chunk: OutputChunk


async def _follow_log(
    settings: Settings, operation: Operation, offset: int
) -> AsyncIterator[OperationOutput]:
    directory = operations.log_dir(settings, operation)
    topic = operations_topic(operation.workspace_id)  # type: ignore[attr-defined]

    async with bus.subscribe(topic) as events:
        # Subscribed first, so an end between this look and the next event is heard.
        ended = await _has_ended(operation)
        size = logs.size(directory)
        if not 0 <= offset <= size:
            raise InvalidInput(
                "offset", f"expected 0 to {size} (the log's size so far), got {offset}"
            )
        follower = LogFollower(directory, offset)
        if ended:
            follower.finish()
        watch = asyncio.create_task(_finish_when_ended(operation, events, follower))
        try:
            async for chunk in follower.chunks():
                yield OperationOutput(operation.id, chunk)
        finally:
            watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watch


async def service_status(
    principal: Principal, workspace_id: UUID | str
) -> AsyncIterator[RuntimeService]:
    """Every service of the workspace as it is now, then each change of one.

    A service is there once it has been started: commands never started have no
    state to tell.
    """
    workspace = await get_workspace(workspace_id)
    await require_workspace_access(principal, workspace.id)
    topic = services_topic(workspace.id)
    closing = workspaces_topic(workspace.project_id)  # type: ignore[attr-defined]

    async with bus.subscribe(topic, closing) as events:
        await _require_open(workspace)
        sent = LastSent()
        every_service = RuntimeService.filter(workspace_id=workspace.id).order_by("name")
        rows = await every_service

        while True:
            for row in rows:
                if sent.is_new(row):
                    yield row
            change = await _next_change(events)
            rows = []
            if isinstance(change, Missed):
                await _require_open(workspace)
                rows = await every_service  # a handful: all of them is the catch-up
            elif change.topic == topic:
                rows = await RuntimeService.filter(id=change.id)
            elif change.id == str(workspace.id):
                await _require_open(workspace)


async def service_log(
    settings: Settings,
    principal: Principal,
    workspace_id: UUID | str,
    name: str,
    offset: int,
    operation_id: UUID | str | None = None,
) -> AsyncIterator[OperationOutput]:
    """The output of a run of a service from `offset`, then live.

    The run is the service's current one (or its last), or the one whose start
    operation is `operation_id`: a client resuming after a disconnect names the run
    its offset belongs to. The stream ends once that run has ended and its output
    is delivered; a restart begins a new run, with a log of its own.
    """
    workspace = await get_workspace(workspace_id)
    await require_workspace_access(principal, workspace.id)
    service = await RuntimeService.get_or_none(workspace_id=workspace.id, name=name)
    if service is None:
        await commands.find(workspace, name, "service")  # NotFound if there is none
        raise Conflict(f"Service {name} of {workspace.name} has not started yet.")

    run_id = service.start_operation_id  # type: ignore[attr-defined]
    if operation_id is not None:
        run_id = validation.parse_id("operationId", operation_id)
    operation = await Operation.get_or_none(
        id=run_id, workspace_id=workspace.id, service_name=name, phase__in=RUN_PHASES
    )
    if operation is None:
        raise InvalidInput("operationId", f"expected a run of service {name} of {workspace.name}")
    async for output in _follow_log(settings, operation, offset):
        yield output


async def workspace_changes(
    principal: Principal, project_id: UUID | str
) -> AsyncIterator[ExecutionWorkspace]:
    """The project's open workspaces, then each one created or changed.

    An agent hears only of workspaces linked to its issues.
    """
    project = await get_project(project_id)
    topic = workspaces_topic(project.id)

    async with bus.subscribe(topic) as events:
        sent = LastSent()
        rows = (
            await ExecutionWorkspace.filter(project_id=project.id)
            .exclude(status=WorkspaceStatus.ARCHIVED)
            .order_by("opened_at")
        )
        while True:
            for row in rows:
                if sent.is_new(row) and await can_access_workspace(principal, row.id):
                    yield row
            change = await _next_change(events)
            if isinstance(change, Missed):
                open_or_recent = Q(closed_at=None) | Q(closed_at__gte=change.since)
                rows = await ExecutionWorkspace.filter(open_or_recent, project_id=project.id)
            else:
                rows = await ExecutionWorkspace.filter(id=change.id)


async def run_changes(principal: Principal, project_id: UUID | str) -> AsyncIterator[Run]:
    """The runs in progress on the project's issues, then each run as it starts and ends.

    An agent hears only of runs on issues assigned to it.
    """
    project = await get_project(project_id)
    topic = runs_topic(project.id)

    async with bus.subscribe(topic) as events:
        sent = LastSent()
        in_progress = Run.filter(issue__project_id=project.id, status=RunStatus.RUNNING)
        rows = await in_progress.order_by("started_at")
        while True:
            for row in rows:
                if sent.is_new(row) and await _may_read_run(principal, row):
                    yield row
            change = await _next_change(events)
            if isinstance(change, Missed):
                recent = Q(started_at__gte=change.since) | Q(finished_at__gte=change.since)
                query = Run.filter(recent, issue__project_id=project.id)
                rows = await query.order_by("started_at")
            else:
                rows = await Run.filter(id=change.id)


async def issue_changes(principal: Principal, project_id: UUID | str) -> AsyncIterator[Issue]:
    """The project's issues as they are now, then each issue as it is created or changed.

    An agent hears only of issues assigned to it, and once more of one that is
    reassigned away from it, so that it sees the new assignee.
    """
    project = await get_project(project_id)
    topic = issues_topic(project.id)

    async with bus.subscribe(topic) as events:
        sent = LastSent()
        rows = await Issue.filter(project_id=project.id).order_by("number")
        while True:
            for row in rows:
                if can_access_issue(principal, row):
                    if sent.is_new(row):
                        yield row
                elif sent.pop(row.pk, None) is not None:
                    yield row  # reassigned away: the last this agent hears of it
            change = await _next_change(events)
            if isinstance(change, Missed):
                recent = Issue.filter(project_id=project.id, updated_at__gte=change.since)
                rows = await recent.order_by("number")
            else:
                rows = await Issue.filter(id=change.id)


# Following the bus


@dataclass(frozen=True)
class Missed:
    """Events were lost; rows changed from `since` on may not have been heard of."""

    since: datetime


async def _next_change(events: Subscription) -> Event | Missed:
    item = await events.get()
    if isinstance(item, Event):
        return item
    # What was lost had been published after the subscriber was last caught up.
    return Missed(events.caught_up_at - CATCH_UP_SLACK)


class LastSent(OrderedDict[Any, tuple[Any, ...]]):
    """How each row looked when last sent (the most recent REMEMBERED_ROWS rows)."""

    def is_new(self, row: Model) -> bool:
        """Whether `row` differs from how it was last sent; remember it if so."""
        version = _version(row)
        if self.get(row.pk) == version:
            self.move_to_end(row.pk)
            return False
        self[row.pk] = version
        self.move_to_end(row.pk)
        if len(self) > REMEMBERED_ROWS:
            self.popitem(last=False)
        return True


def _version(row: Model) -> tuple[Any, ...]:
    return tuple(getattr(row, name) for name in row._meta.fields_db_projection)


# Rows


async def _require_open(workspace: ExecutionWorkspace) -> None:
    await workspace.refresh_from_db(fields=["status"])
    if workspace.status == WorkspaceStatus.ARCHIVED:
        raise WorkspaceClosed(str(workspace.id), workspace.name)


async def _operations_since(workspace_id: UUID, since: datetime) -> list[Operation]:
    recent = Q(started_at__gte=since) | Q(finished_at__gte=since)
    return await Operation.filter(recent, workspace_id=workspace_id).order_by("started_at")


async def _has_ended(operation: Operation) -> bool:
    try:
        await operation.refresh_from_db(fields=["status", "finished_at"])
    except DoesNotExist:
        return True  # removed with its workspace: nothing more will be written
    return operation.finished_at is not None


async def _finish_when_ended(
    operation: Operation, events: Subscription, follower: LogFollower
) -> None:
    try:
        while True:
            change = await _next_change(events)
            heard_of_it = isinstance(change, Missed) or change.id == str(operation.id)
            if heard_of_it and await _has_ended(operation):
                follower.finish()
                return
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # the stream must not wait forever for an end it missed
        follower.fail(exc)


async def _may_read_run(principal: Principal, run: Run) -> bool:
    if principal.is_operator:
        return True
    issue_id: UUID = run.issue_id  # type: ignore[attr-defined]
    return await Issue.filter(id=issue_id, assignee_id=principal.agent_id).exists()
