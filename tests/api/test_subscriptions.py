"""Subscriptions in-process: what each stream sends, whom it refuses, how it ends.

The socket-level behaviour (handshake, real logs, several processes) is tested
against a real server in test_operation_log.py and test_live_server.py.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.api import Api, GraphQLErrors
from tests.support.scenarios import (
    OPERATION_LOG,
    WORKSPACE_CHANGED,
    WORKSPACE_OPERATIONS,
    checked_out_issue,
)
from worksite.domain import live
from worksite.domain.workspaces import announce
from worksite.models import ExecutionWorkspace
from worksite.models.enums import WorkspaceStatus

DEADLINE = 30.0

RUN_CHANGED = """
subscription($projectId: ID!) { runChanged(projectId: $projectId) {
  __typename ... on Run { id status issue { identifier liveRun { id } } }
  ... on Error { message } } }
"""
SAVE_WORKSPACE = """
mutation($id: ID!, $input: SaveExecutionWorkspaceInput!) {
  saveExecutionWorkspace(id: $id, input: $input) {
    __typename ... on ExecutionWorkspace { id name } ... on Error { message } } }
"""
FINISH_RUN = """
mutation($runId: ID!) { finishRun(runId: $runId, status: SUCCEEDED) {
  __typename ... on Run { id status } ... on Error { message } } }
"""
ISSUE_CHANGED = """
subscription($projectId: ID!) { issueChanged(projectId: $projectId) {
  __typename ... on Issue { id identifier title status priority assignee { name }
    executionWorkspace { id } }
  ... on Error { message } } }
"""
UPDATE_ISSUE = """
mutation($id: ID!, $input: IssueInput!) { updateIssue(id: $id, input: $input) {
  __typename ... on Issue { id } ... on Error { message } } }
"""


async def next_value(values: AsyncIterator[Any]) -> Any:
    return await asyncio.wait_for(anext(values), DEADLINE)


async def assert_ended(values: AsyncIterator[Any]) -> None:
    try:
        value = await asyncio.wait_for(anext(values), DEADLINE)
    except StopAsyncIteration:
        return
    raise AssertionError(f"expected the stream to end, got {value}")


async def test_an_unknown_operation_is_a_not_found_event_that_ends_the_stream(
    api: Api,
) -> None:
    missing = str(uuid.uuid4())
    async with api.subscribe(OPERATION_LOG, {"operationId": missing, "offset": 0}) as values:
        event = await next_value(values)
        assert event["__typename"] == "NotFoundError"
        assert missing in event["message"]
        await assert_ended(values)


async def test_a_malformed_id_or_an_offset_past_the_log_is_an_invalid_input_event(
    api: Api, git_repo: Path
) -> None:
    ids = await checked_out_issue(api, git_repo)
    for variables in (
        {"operationId": "not-an-id", "offset": 0},
        {"operationId": ids["operation"], "offset": 10**6},
        {"operationId": ids["operation"], "offset": -1},
    ):
        async with api.subscribe(OPERATION_LOG, variables) as values:
            event = await next_value(values)
            assert event["__typename"] == "InvalidInputError", (variables, event)
            await assert_ended(values)


async def test_the_log_of_a_finished_operation_is_delivered_and_the_stream_completes(
    api: Api, git_repo: Path
) -> None:
    ids = await checked_out_issue(api, git_repo)
    async with api.subscribe(
        OPERATION_LOG, {"operationId": ids["operation"], "offset": 0}
    ) as values:
        chunks = [chunk async for chunk in values]

    assert [(c["stream"], c["content"]) for c in chunks] == [("STDOUT", "provisioned\n")]
    assert chunks[-1]["nextOffset"] == len("provisioned\n")


async def test_an_agent_may_not_follow_a_workspace_that_is_not_linked_to_its_issues(
    api: Api, git_repo: Path
) -> None:
    ids = await checked_out_issue(api, git_repo)
    _, stranger = await api.agent("stranger")

    for query, variables in (
        (WORKSPACE_OPERATIONS, {"workspaceId": ids["workspace"]}),
        (OPERATION_LOG, {"operationId": ids["operation"], "offset": 0}),
    ):
        async with api.subscribe(query, variables, token=stranger) as values:
            event = await next_value(values)
            assert event["__typename"] == "ForbiddenError", event
            await assert_ended(values)

    async with api.subscribe(
        OPERATION_LOG, {"operationId": ids["operation"], "offset": 0}, token=ids["token"]
    ) as values:
        assert (await next_value(values))["__typename"] == "OutputChunk"


async def test_closing_a_workspace_under_a_stream_ends_it_with_a_workspace_closed_event(
    api: Api, git_repo: Path
) -> None:
    ids = await checked_out_issue(api, git_repo)
    async with api.subscribe(WORKSPACE_OPERATIONS, {"workspaceId": ids["workspace"]}) as values:
        # Nothing is running: the stream waits. Close the workspace under it.
        pending = asyncio.ensure_future(anext(values))
        workspace = await ExecutionWorkspace.get(id=ids["workspace"])
        workspace.status = WorkspaceStatus.ARCHIVED
        await workspace.save(update_fields=["status"])
        announce(workspace)

        event = await asyncio.wait_for(pending, DEADLINE)
        assert event["__typename"] == "WorkspaceClosedError"
        assert event["message"] == f"Workspace {workspace.name} was closed; this stream has ended."
        await assert_ended(values)

    # Subscribing to a workspace that is already closed says so at once.
    async with api.subscribe(WORKSPACE_OPERATIONS, {"workspaceId": ids["workspace"]}) as values:
        assert (await next_value(values))["__typename"] == "WorkspaceClosedError"
        await assert_ended(values)


async def test_workspace_changed_gives_the_open_workspaces_then_their_changes(
    api: Api, git_repo: Path
) -> None:
    ids = await checked_out_issue(api, git_repo)
    async with api.subscribe(WORKSPACE_CHANGED, {"projectId": ids["project"]}) as values:
        current = await next_value(values)
        assert (current["id"], current["status"]) == (ids["workspace"], "ACTIVE")

        await api.ok(SAVE_WORKSPACE, {"id": ids["workspace"], "input": {"name": "renamed"}})
        changed = await next_value(values)
        assert (changed["id"], changed["name"]) == (ids["workspace"], "renamed")


async def test_an_agent_hears_only_of_workspaces_linked_to_its_issues(
    api: Api, git_repo: Path
) -> None:
    ids = await checked_out_issue(api, git_repo)
    other_agent, other_token = await api.agent("other")
    other_issue = await api.issue(ids["project"], "Other work", assigneeId=other_agent)

    async with api.subscribe(
        WORKSPACE_CHANGED, {"projectId": ids["project"]}, token=ids["token"]
    ) as values:
        assert (await next_value(values))["id"] == ids["workspace"]
        # Another agent's checkout makes and announces a workspace this agent may not read.
        other = await api.checkout(other_issue["id"], other_token)
        assert other["__typename"] == "CheckoutIssueSuccess"
        await api.ok(SAVE_WORKSPACE, {"id": ids["workspace"], "input": {"name": "mine"}})

        event = await next_value(values)
        assert (event["id"], event["name"]) == (ids["workspace"], "mine")


async def test_run_changed_gives_runs_in_progress_then_runs_starting_and_finishing(
    api: Api, git_repo: Path
) -> None:
    ids = await checked_out_issue(api, git_repo)
    async with api.subscribe(RUN_CHANGED, {"projectId": ids["project"]}) as values:
        current = await next_value(values)
        assert (current["id"], current["status"]) == (ids["run"], "RUNNING")
        assert current["issue"]["liveRun"] == {"id": ids["run"]}

        await api.ok(FINISH_RUN, {"runId": ids["run"]}, token=ids["token"])
        finished = await next_value(values)
        assert (finished["id"], finished["status"]) == (ids["run"], "SUCCEEDED")
        assert finished["issue"]["liveRun"] is None

        again = await api.checkout(ids["issue"], ids["token"])
        started = await next_value(values)
        assert (started["id"], started["status"]) == (again["run"]["id"], "RUNNING")


async def test_an_agent_hears_only_of_runs_on_its_own_issues(api: Api, git_repo: Path) -> None:
    ids = await checked_out_issue(api, git_repo)
    other_agent, other_token = await api.agent("other")
    other_issue = await api.issue(ids["project"], "Other work", assigneeId=other_agent)

    async with api.subscribe(
        RUN_CHANGED, {"projectId": ids["project"]}, token=ids["token"]
    ) as values:
        assert (await next_value(values))["id"] == ids["run"]
        assert (await api.checkout(other_issue["id"], other_token))[
            "__typename"
        ] == "CheckoutIssueSuccess"
        await api.ok(FINISH_RUN, {"runId": ids["run"]}, token=ids["token"])

        event = await next_value(values)
        assert (event["id"], event["status"]) == (ids["run"], "SUCCEEDED")


async def test_issue_changed_gives_the_issues_then_each_one_created_or_changed(
    api: Api, git_repo: Path
) -> None:
    project = await api.project()
    await api.project_workspace(project["id"], cwd=str(git_repo), baseRef="main")
    agent_id, token = await api.agent("coder")
    first = await api.issue(project["id"], "First")
    second = await api.issue(project["id"], "Second")

    async with api.subscribe(ISSUE_CHANGED, {"projectId": project["id"]}) as values:
        current = [await next_value(values), await next_value(values)]
        assert [issue["identifier"] for issue in current] == ["PAP-1", "PAP-2"]

        await api.ok(
            UPDATE_ISSUE,
            {
                "id": second["id"],
                "input": {
                    "status": "IN_REVIEW",
                    "assigneeId": agent_id,
                    "title": "Second, renamed",
                    "priority": "HIGH",
                },
            },
        )
        changed = await next_value(values)
        assert (changed["id"], changed["title"], changed["status"], changed["priority"]) == (
            second["id"],
            "Second, renamed",
            "IN_REVIEW",
            "HIGH",
        )
        assert changed["assignee"] == {"name": "coder"}

        third = await api.issue(project["id"], "Third")
        assert (await next_value(values))["id"] == third["id"]

        # A checkout links the issue to its workspace and puts it in progress.
        await api.ok(UPDATE_ISSUE, {"id": first["id"], "input": {"assigneeId": agent_id}})
        assert (await next_value(values))["assignee"] == {"name": "coder"}
        checkout = await api.checkout(first["id"], token)
        event = await next_value(values)
        while event["status"] != "IN_PROGRESS" or event["executionWorkspace"] is None:
            event = await next_value(values)
        assert event["executionWorkspace"] == {"id": checkout["workspace"]["id"]}


async def test_an_agent_hears_of_its_own_issues_and_once_of_one_reassigned_away(
    api: Api,
) -> None:
    project = await api.project()
    mine, token = await api.agent("mine")
    other, _ = await api.agent("other")
    theirs = await api.issue(project["id"], "Theirs", assigneeId=other)
    owned = await api.issue(project["id"], "Owned", assigneeId=mine)

    variables = {"projectId": project["id"]}
    async with api.subscribe(ISSUE_CHANGED, variables, token=token) as values:
        assert (await next_value(values))["id"] == owned["id"]
        await api.ok(UPDATE_ISSUE, {"id": theirs["id"], "input": {"title": "Not for me"}})
        await api.ok(UPDATE_ISSUE, {"id": owned["id"], "input": {"assigneeId": other}})
        away = await next_value(values)
        assert (away["id"], away["assignee"]) == (owned["id"], {"name": "other"})

        # Once gone, its changes are no longer this agent's news; a new one is.
        await api.ok(UPDATE_ISSUE, {"id": owned["id"], "input": {"title": "Gone"}})
        await api.ok(UPDATE_ISSUE, {"id": theirs["id"], "input": {"assigneeId": mine}})
        handed_over = await next_value(values)
        assert (handed_over["id"], handed_over["title"]) == (theirs["id"], "Not for me")


async def test_a_project_stream_for_an_unknown_project_is_a_not_found_event(api: Api) -> None:
    for query in (WORKSPACE_CHANGED, RUN_CHANGED, ISSUE_CHANGED):
        async with api.subscribe(query, {"projectId": str(uuid.uuid4())}) as values:
            assert (await next_value(values))["__typename"] == "NotFoundError"
            await assert_ended(values)


async def test_an_unexpected_failure_inside_a_stream_is_a_generic_error_not_a_completion(
    api: Api, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(*args: object) -> AsyncIterator[object]:
        raise RuntimeError("secret detail")
        yield  # an async generator

    monkeypatch.setattr(live, "operation_log", broken)
    variables = {"operationId": str(uuid.uuid4()), "offset": 0}

    with pytest.raises(GraphQLErrors) as failure:
        async with api.subscribe(OPERATION_LOG, variables) as values:
            await next_value(values)

    assert "Internal server error." in str(failure.value)
    assert "secret detail" not in str(failure.value)
    logged = [record for record in caplog.records if record.exc_info]
    assert len(logged) == 1 and "secret detail" in logged[0].getMessage()
