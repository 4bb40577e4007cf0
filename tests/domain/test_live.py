"""Live streams in the domain: catching up from the database after falling behind."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest

from tests.support.api import Api
from tests.support.scenarios import checked_out_issue
from worksite.domain import issues, live, operations
from worksite.domain.auth import OPERATOR
from worksite.events import bus
from worksite.models import ExecutionWorkspace, Operation
from worksite.models.enums import OperationCategory, OperationStatus

DEADLINE = 30.0


async def test_a_subscriber_that_fell_behind_catches_up_from_the_database(
    api: Api, git_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = await checked_out_issue(api, git_repo)
    workspace = await ExecutionWorkspace.get(id=ids["workspace"])
    monkeypatch.setattr(bus, "queue_size", 5)
    stream = live.workspace_operations(OPERATOR, workspace.id)

    async with contextlib.aclosing(stream):
        pending = asyncio.ensure_future(anext(stream))
        first = await operations.begin(workspace, OperationCategory.RUNTIME, "job", "true")
        assert (await asyncio.wait_for(pending, DEADLINE)).id == first.id

        # The subscriber reads nothing while 20 operations come and go: its queue of
        # five overflows, and what it missed is looked up when it reads again.
        made = [first]
        for number in range(20):
            operation = await operations.begin(
                workspace, OperationCategory.RUNTIME, "job", f"echo {number}"
            )
            await operations.finish(api.settings, operation, 0, succeeded=True)
            made.append(operation)
        await operations.finish(api.settings, first, 0, succeeded=True)

        received: list[Operation] = []
        while not {op.id for op in made} <= {row.id for row in received if row.finished_at}:
            received.append(await asyncio.wait_for(anext(stream), DEADLINE))

    assert all(row.status == OperationStatus.SUCCEEDED for row in received)
    states = [(row.id, row.status) for row in received]
    assert len(states) == len(set(states)), "a row was sent twice unchanged"


async def test_leaving_a_log_stream_that_waits_for_output_lets_go_of_everything(
    api: Api, git_repo: Path
) -> None:
    ids = await checked_out_issue(api, git_repo)
    workspace = await ExecutionWorkspace.get(id=ids["workspace"])
    running = await operations.begin(workspace, OperationCategory.RUNTIME, "job", "sleep")
    before = bus.subscriber_count()

    stream = live.operation_log(api.settings, OPERATOR, running.id, 0)
    waiting = asyncio.ensure_future(anext(stream))
    deadline = asyncio.get_running_loop().time() + DEADLINE
    while bus.subscriber_count() == before:  # until it listens for the end
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.01)
    waiting.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await waiting
    await stream.aclose()

    assert bus.subscriber_count() == before
    # The task that polls log sizes ends at its next tick once nobody waits.
    while any(task.get_name() == "worksite-log-watcher" for task in asyncio.all_tasks()):
        assert asyncio.get_running_loop().time() < deadline, "the watcher polls for nobody"
        await asyncio.sleep(0.01)


async def test_an_issue_follower_that_fell_behind_catches_up_from_the_database(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = await api.project()
    created = [await api.issue(project["id"], f"Issue {n}") for n in range(3)]
    monkeypatch.setattr(bus, "queue_size", 2)
    stream = live.issue_changes(OPERATOR, project["id"])

    async with contextlib.aclosing(stream):
        current = [await asyncio.wait_for(anext(stream), DEADLINE) for _ in created]
        assert [row.title for row in current] == ["Issue 0", "Issue 1", "Issue 2"]

        # Ten changes while the follower reads nothing overflow its queue of two.
        for round in range(10):
            for issue in created:
                await issues.update_issue(OPERATOR, issue["id"], {"title": f"{round}"})
        latest: dict[str, str] = {}
        while set(latest.values()) != {"9"} or len(latest) < len(created):
            row = await asyncio.wait_for(anext(stream), DEADLINE)
            latest[str(row.id)] = row.title
