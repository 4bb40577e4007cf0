"""Live updates over graphql-transport-ws against real server processes.

The handshake's authentication, operations starting and finishing, and two
server processes on one PostgreSQL database passing events to each other.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from tests.conftest import OPERATOR_TOKEN, new_postgres_database
from tests.support.api import Api
from tests.support.gqlws import GraphQLWebSocket, Refused
from tests.support.postgres import PostgresCluster
from tests.support.scenarios import (
    OPERATION_LOG,
    WORKSPACE_CHANGED,
    WORKSPACE_OPERATIONS,
    GatedProvision,
    numbered_lines,
    numbered_lines_script,
)
from tests.support.server import ServerProcess
from tests.support.supervisors import stop_supervisors
from worksite.settings import Settings

RUN_CHANGED = """
subscription($projectId: ID!) { runChanged(projectId: $projectId) {
  __typename ... on Run { id status } ... on Error { message } } }
"""
SAVE_WORKSPACE = """
mutation($id: ID!, $name: String!) { saveExecutionWorkspace(id: $id, input: {name: $name}) {
  __typename ... on ExecutionWorkspace { id name } ... on Error { message } } }
"""
FINISH_RUN = """
mutation($runId: ID!) { finishRun(runId: $runId, status: SUCCEEDED) {
  __typename ... on Run { id status } ... on Error { message } } }
"""
ISSUE_CHANGED = """
subscription($projectId: ID!) { issueChanged(projectId: $projectId) {
  __typename ... on Issue { id status } ... on Error { message } } }
"""
BLOCK_ISSUE = """
mutation($id: ID!) { updateIssue(id: $id, input: {status: IN_REVIEW}) {
  __typename ... on Error { message } } }
"""


async def test_a_missing_or_unknown_token_is_refused_with_4403(server: ServerProcess) -> None:
    for payload in (
        {},
        {"authorization": "Bearer not-a-token"},
        {"authorization": OPERATOR_TOKEN},  # without the scheme
        {"authorization": ""},
        {"authorization": 42},
    ):
        with pytest.raises(Refused) as refused:
            async with GraphQLWebSocket.connect(server.ws_url, None, payload=payload):
                pass
        assert refused.value.code == 4403, payload


async def test_an_agent_follows_its_own_workspace_and_is_refused_others(
    server: ServerProcess, server_api: Api, git_repo: Path, tmp_path: Path
) -> None:
    run = GatedProvision(server_api, git_repo, tmp_path, "print('hello')\n")
    async with GraphQLWebSocket.connect(server.ws_url, server.token) as client:
        operation_id = await run.start(client)
    assert (await run.finished())["__typename"] == "CheckoutIssueSuccess"
    _, stranger = await server_api.agent("stranger")  # linked to nothing

    async with GraphQLWebSocket.connect(server.ws_url, stranger) as client:
        subscription = await client.subscribe(
            OPERATION_LOG, {"operationId": operation_id, "offset": 0}
        )
        refused = [event async for event in client.values(subscription)]
    assert [event["__typename"] for event in refused] == ["ForbiddenError"]

    async with GraphQLWebSocket.connect(server.ws_url, run.agent_token) as client:
        subscription = await client.subscribe(
            OPERATION_LOG, {"operationId": operation_id, "offset": 0}
        )
        chunks = [event async for event in client.values(subscription)]
    assert "".join(chunk["content"] for chunk in chunks) == "hello\n"


async def test_workspace_operations_tells_of_an_operation_starting_and_finishing(
    server: ServerProcess, server_api: Api, git_repo: Path, tmp_path: Path
) -> None:
    run = GatedProvision(server_api, git_repo, tmp_path, "import sys; sys.exit(3)\n")
    async with GraphQLWebSocket.connect(server.ws_url, server.token) as client:
        operation_id = await run.start(client)
        subscription = await client.subscribe(
            WORKSPACE_OPERATIONS, {"workspaceId": run.workspace_id}
        )
        started = await client.next_value(subscription)
        assert (started["id"], started["status"]) == (operation_id, "RUNNING")

        run.open_gate()
        finished = await client.next_value(subscription)
        assert (finished["id"], finished["status"], finished["exitCode"]) == (
            operation_id,
            "FAILED",
            3,
        )
    assert (await run.finished())["__typename"] == "ProvisionFailedError"


# Two server processes on one PostgreSQL database


@pytest.fixture
def two_servers(
    postgres: PostgresCluster, tmp_path: Path
) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    """Two `worksite serve` processes sharing a database and a data directory."""
    database_url = new_postgres_database(postgres)
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    first = ServerProcess(data_dir, database_url, OPERATOR_TOKEN, name="first")
    second = ServerProcess(data_dir, database_url, OPERATOR_TOKEN, name="second")
    try:
        first.start()
        second.start()
        yield first, second
    finally:
        second.stop()
        first.stop()
        stop_supervisors(data_dir / "logs")


async def test_events_reach_subscribers_connected_to_another_server_process(
    two_servers: tuple[ServerProcess, ServerProcess], git_repo: Path, tmp_path: Path
) -> None:
    listening, acting = two_servers
    settings = Settings(acting.data_dir, acting.database_url, OPERATOR_TOKEN)
    lines = 20_000
    async with (
        httpx2.AsyncClient(base_url=acting.url, timeout=120.0) as http,
        GraphQLWebSocket.connect(listening.ws_url, OPERATOR_TOKEN) as client,
    ):
        # Mutations go to one process; subscriptions are served by the other.
        api = Api(http, settings, OPERATOR_TOKEN)
        run = GatedProvision(api, git_repo, tmp_path, numbered_lines_script(lines))
        operation_id = await run.start(client)
        operations = await client.subscribe(WORKSPACE_OPERATIONS, {"workspaceId": run.workspace_id})
        assert (await client.next_value(operations))["status"] == "RUNNING"
        log = await client.subscribe(OPERATION_LOG, {"operationId": operation_id, "offset": 0})
        run.open_gate()

        # The log completes only once the listening process hears the operation end.
        chunks = [chunk async for chunk in client.values(log)]
        assert "".join(chunk["content"] for chunk in chunks) == numbered_lines(lines)
        finished = await client.next_value(operations)
        assert (finished["id"], finished["status"]) == (operation_id, "SUCCEEDED")
        checkout = await run.finished()
        assert checkout["__typename"] == "CheckoutIssueSuccess"

        workspaces = await client.subscribe(WORKSPACE_CHANGED, {"projectId": run.project_id})
        assert (await client.next_value(workspaces))["id"] == run.workspace_id
        await api.ok(SAVE_WORKSPACE, {"id": run.workspace_id, "name": "renamed-elsewhere"})
        renamed = await client.next_value(workspaces)
        assert (renamed["id"], renamed["name"]) == (run.workspace_id, "renamed-elsewhere")

        runs = await client.subscribe(RUN_CHANGED, {"projectId": run.project_id})
        assert (await client.next_value(runs))["status"] == "RUNNING"
        await api.ok(FINISH_RUN, {"runId": checkout["run"]["id"]}, token=run.agent_token)
        ended = await client.next_value(runs)
        assert (ended["id"], ended["status"]) == (checkout["run"]["id"], "SUCCEEDED")

        issues = await client.subscribe(ISSUE_CHANGED, {"projectId": run.project_id})
        issue = await client.next_value(issues)
        assert issue["status"] == "IN_PROGRESS"
        await api.ok(BLOCK_ISSUE, {"id": issue["id"]}, token=run.agent_token)
        blocked = await client.next_value(issues)
        assert (blocked["id"], blocked["status"]) == (issue["id"], "IN_REVIEW")


CLOSE_WORKSPACE = """
mutation($id: ID!) { closeExecutionWorkspace(id: $id, force: true) {
  __typename ... on ExecutionWorkspace { id status } ... on Error { message } } }
"""


async def test_closing_a_workspace_ends_its_stream_with_a_workspace_closed_event(
    server: ServerProcess, server_api: Api, git_repo: Path, tmp_path: Path
) -> None:
    run = GatedProvision(server_api, git_repo, tmp_path, "print('ready')\n")
    async with GraphQLWebSocket.connect(server.ws_url, server.token) as client:
        await run.start(client)
        assert (await run.finished())["__typename"] == "CheckoutIssueSuccess"
        subscription = await client.subscribe(
            WORKSPACE_OPERATIONS, {"workspaceId": run.workspace_id}
        )
        # Forced: the linked issue is still open, which would block a plain close.
        closed = await server_api.ok(CLOSE_WORKSPACE, {"id": run.workspace_id})
        assert closed["status"] == "ARCHIVED"

        events = [event async for event in client.values(subscription)]

    assert events[-1]["__typename"] == "WorkspaceClosedError", events
    assert all(event["__typename"] == "WorkspaceOperation" for event in events[:-1])
