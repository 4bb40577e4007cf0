"""Automatic cleanup: scheduling, closing without force, leaving unsaved work alone."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.api.test_checkout import FINISH, setup
from tests.api.test_close import DONE
from tests.support.api import Api
from worksite.app import create_app
from worksite.domain import cleanup
from worksite.events import Event, bus, workspaces_topic

RETENTION = """
mutation($id: ID!, $s: Int) { updateProject(id: $id, input: {cleanupRetentionSeconds: $s}) {
  __typename ... on Project { cleanupRetentionSeconds } ... on Error { message } } }
"""
REOPEN = "mutation($id: ID!) { updateIssue(id: $id, input: {status: IN_PROGRESS}) { __typename } }"
STATE = "query($id: ID!) { executionWorkspace(id: $id) { status cleanupEligibleAt cleanupReason } }"


async def finished_workspace(api: Api, repo: Path, window: int | None) -> tuple[dict, dict]:
    project, agent_id, token = await setup(api, repo)
    issue = await api.issue(project["id"], assigneeId=agent_id)
    checkout = await api.checkout(issue["id"], token)
    await api.ok(RETENTION, {"id": project["id"], "s": window})
    await api.ok(DONE, {"id": issue["id"]})
    await api.ok(FINISH, {"id": checkout["run"]["id"], "status": "SUCCEEDED"}, token)
    return issue, checkout["workspace"]


async def state(api: Api, workspace_id: str) -> dict:
    return (await api.gql(STATE, {"id": workspace_id}))["executionWorkspace"]


async def test_off_by_default(api: Api, git_repo: Path) -> None:
    _, workspace = await finished_workspace(api, git_repo, None)

    assert await cleanup.sweep(api.settings, datetime.now(UTC) + timedelta(days=999)) == 0
    assert await state(api, workspace["id"]) == {
        "status": "ACTIVE",
        "cleanupEligibleAt": None,
        "cleanupReason": None,
    }


async def test_finished_idle_workspace_is_scheduled_then_closed(api: Api, git_repo: Path) -> None:
    _, workspace = await finished_workspace(api, git_repo, 3600)

    scheduled = await state(api, workspace["id"])
    assert scheduled["cleanupEligibleAt"] is not None
    assert "Every linked issue is done or cancelled" in scheduled["cleanupReason"]
    assert await cleanup.sweep(api.settings) == 0, "not before the window passes"

    later = datetime.now(UTC) + timedelta(seconds=3601)
    assert await cleanup.sweep(api.settings, later) == 1
    assert (await state(api, workspace["id"]))["status"] == "ARCHIVED"
    assert not Path(workspace["cwd"]).exists()


async def test_open_run_keeps_a_workspace_from_being_scheduled(api: Api, git_repo: Path) -> None:
    project, agent_id, token = await setup(api, git_repo)
    await api.ok(RETENTION, {"id": project["id"], "s": 1})
    issue = await api.issue(project["id"], assigneeId=agent_id)
    workspace = (await api.checkout(issue["id"], token))["workspace"]
    await api.ok(DONE, {"id": issue["id"]})

    later = datetime.now(UTC) + timedelta(days=2)
    assert await cleanup.sweep(api.settings, later) == 0
    assert (await state(api, workspace["id"]))["cleanupEligibleAt"] is None


async def test_reopened_issue_cancels_the_schedule(api: Api, git_repo: Path) -> None:
    issue, workspace = await finished_workspace(api, git_repo, 3600)
    await api.ok(REOPEN, {"id": issue["id"]})

    assert (await state(api, workspace["id"]))["cleanupEligibleAt"] is None
    later = datetime.now(UTC) + timedelta(days=2)
    assert await cleanup.sweep(api.settings, later) == 0


async def test_dirty_workspace_is_left_alone_with_the_reason(api: Api, git_repo: Path) -> None:
    _, workspace = await finished_workspace(api, git_repo, 60)
    (Path(workspace["cwd"]) / "wip.txt").write_text("not committed\n")

    later = datetime.now(UTC) + timedelta(seconds=61)
    assert await cleanup.sweep(api.settings, later) == 0

    current = await state(api, workspace["id"])
    assert current["status"] == "ACTIVE"
    assert current["cleanupReason"] == (
        "Automatic cleanup skipped: Uncommitted work: 0 modified and 1 untracked files."
    )
    assert (Path(workspace["cwd"]) / "wip.txt").exists()


async def test_the_servers_own_task_closes_eligible_workspaces(api: Api, git_repo: Path) -> None:
    _, workspace = await finished_workspace(api, git_repo, 1)
    # A second server on the same database, sweeping often: the schedule is in the database.
    app = create_app(dataclasses.replace(api.settings, cleanup_interval=0.2), migrate=False)
    async with app.router.lifespan_context(app):
        deadline = time.monotonic() + 30
        while (await state(api, workspace["id"]))["status"] != "ARCHIVED":
            assert time.monotonic() < deadline, "the background sweep never closed it"
            await asyncio.sleep(0.2)


async def test_retention_window_must_be_positive(api: Api) -> None:
    project = await api.project()
    refused = await api.mutate(RETENTION, {"id": project["id"], "s": -5})
    assert refused["__typename"] == "InvalidInputError"
    assert "expected seconds from 1" in refused["message"]


async def test_schedule_changes_reach_workspace_subscribers(api: Api, git_repo: Path) -> None:
    issue, workspace = await finished_workspace(api, git_repo, 3600)
    owner = await api.gql(
        "query($id: ID!) { executionWorkspace(id: $id) { project { id } } }",
        {"id": workspace["id"]},
    )
    async with bus.subscribe(
        workspaces_topic(owner["executionWorkspace"]["project"]["id"])
    ) as events:
        await api.ok(REOPEN, {"id": issue["id"]})
        assert (await asyncio.wait_for(events.get(), 10)) == Event(
            events.topics[0], workspace["id"]
        )

        (Path(workspace["cwd"]) / "wip.txt").write_text("not committed\n")
        later = datetime.now(UTC) + timedelta(seconds=3601)
        await api.ok(DONE, {"id": issue["id"]})
        await asyncio.wait_for(events.get(), 10)
        assert await cleanup.sweep(api.settings, later) == 0
        skipped = await asyncio.wait_for(events.get(), 10)

    assert skipped == Event(events.topics[0], workspace["id"])
    assert (await state(api, workspace["id"]))["cleanupReason"].startswith(cleanup.SKIPPED)
