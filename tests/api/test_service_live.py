"""serviceStatus and serviceLog: services followed live over a real server."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from tests.support.api import Api
from tests.support.gqlws import GraphQLWebSocket
from tests.support.server import ServerProcess
from tests.support.services import (
    RESTART,
    get_json,
    http_service,
    runtime_workspace,
    started,
    stop,
    wait_for_file,
)

SERVICE_STATUS = """
subscription($workspaceId: ID!) { serviceStatus(workspaceId: $workspaceId) {
  __typename ... on RuntimeService { id name status health exitCode failureReason }
  ... on Error { message } } }
"""
SERVICE_LOG = """
subscription($workspaceId: ID!, $name: String!, $offset: Int!, $operationId: ID) {
  serviceLog(workspaceId: $workspaceId, name: $name, offset: $offset, operationId: $operationId) {
    __typename ... on OutputChunk { operationId stream content offset nextOffset }
    ... on Error { message } } }
"""
LOG = "query($id: ID!) { operation(id: $id) { log(limit: 1000000) { content } } }"
# The order a service's statuses go in; events may skip some, never go back.
LIFECYCLE = ["STARTING", "RUNNING", "STOPPING", "STOPPED", "FAILED"]
CRASHER = {
    "name": "crasher",
    "kind": "service",
    "command": f"{wait_for_file('crash')}; echo going down >&2; exit 4",
}


async def statuses_until(
    client: GraphQLWebSocket, subscription: str, name: str, last: str, seen: dict[str, list[dict]]
) -> list[dict[str, Any]]:
    """Events of every service, until service `name` reaches status `last`."""
    while True:
        event = await client.next_value(subscription)
        assert event["__typename"] == "RuntimeService", event
        seen.setdefault(event["name"], []).append(event)
        if event["name"] == name and event["status"] == last:
            return seen[name]


def assert_in_lifecycle_order(events: list[dict[str, Any]]) -> None:
    positions = [LIFECYCLE.index(event["status"]) for event in events]
    assert positions == sorted(positions), [event["status"] for event in events]


async def test_service_status_tells_of_start_stop_crash_and_health(
    server: ServerProcess, server_api: Api, git_repo: Path
) -> None:
    workspace = await runtime_workspace(server_api, git_repo, [http_service(), CRASHER])
    web = await started(server_api, workspace, "web")
    seen: dict[str, list[dict]] = {}

    async with GraphQLWebSocket.connect(server.ws_url, server.token) as client:
        subscription = await client.subscribe(SERVICE_STATUS, {"workspaceId": workspace.id})
        current = await client.next_value(subscription)
        assert (current["name"], current["status"], current["health"]) == (
            "web",
            "RUNNING",
            "HEALTHY",
        )

        await started(server_api, workspace, "crasher", wait=False)
        await statuses_until(client, subscription, "crasher", "RUNNING", seen)

        (workspace.cwd / "unhealthy").touch()
        while (await client.next_value(subscription))["health"] != "UNHEALTHY":
            pass
        (workspace.cwd / "unhealthy").unlink()
        while (await client.next_value(subscription))["health"] != "HEALTHY":
            pass

        stopping = asyncio.create_task(stop(server_api, workspace, "web"))
        web_events = await statuses_until(client, subscription, "web", "STOPPED", seen)
        assert (await stopping)["__typename"] == "WorkspaceServicesSuccess"

        # Nobody asks it to: the crasher dies on its own.
        (workspace.cwd / "crash").touch()
        crasher_events = await statuses_until(client, subscription, "crasher", "FAILED", seen)

    assert web_events[-1]["id"] == web["id"]
    assert "STOPPING" in [event["status"] for event in web_events]
    assert_in_lifecycle_order(web_events)
    assert_in_lifecycle_order(crasher_events)
    crashed = crasher_events[-1]
    assert (crashed["exitCode"], crashed["failureReason"]) == (4, "it exited with code 4")


async def test_service_log_follows_a_run_live_and_completes_when_it_stops(
    server: ServerProcess, server_api: Api, git_repo: Path
) -> None:
    workspace = await runtime_workspace(server_api, git_repo, [http_service()])
    web = await started(server_api, workspace, "web")
    run = web["startOperation"]["id"]

    async with GraphQLWebSocket.connect(server.ws_url, server.token) as client:
        variables = {"workspaceId": workspace.id, "name": "web", "offset": 0}
        subscription = await client.subscribe(SERVICE_LOG, variables)
        chunks = [await client.next_value(subscription)]
        assert "listening on" in chunks[0]["content"]

        # Requests to the service are logged by it, and reach the subscriber live.
        for _ in range(3):
            await get_json(f"{web['url']}/env")
        while "".join(chunk["content"] for chunk in chunks).count("GET /env") < 3:
            chunks.append(await client.next_value(subscription))

        assert (await stop(server_api, workspace, "web"))[
            "__typename"
        ] == "WorkspaceServicesSuccess"
        chunks += [chunk async for chunk in client.values(subscription)]

    offset = 0
    for chunk in chunks:
        assert (chunk["operationId"], chunk["offset"]) == (run, offset)
        offset = chunk["nextOffset"]
    log = (await server_api.gql(LOG, {"id": run}))["operation"]["log"]["content"]
    assert "".join(chunk["content"] for chunk in chunks) == log


async def test_a_service_log_resumed_after_a_restart_finishes_the_run_it_was_reading(
    server: ServerProcess, server_api: Api, git_repo: Path
) -> None:
    workspace = await runtime_workspace(server_api, git_repo, [http_service()])
    web = await started(server_api, workspace, "web")
    first_run = web["startOperation"]["id"]
    variables = {"workspaceId": workspace.id, "name": "web", "offset": 0}

    async with GraphQLWebSocket.connect(server.ws_url, server.token) as client:
        subscription = await client.subscribe(SERVICE_LOG, variables)
        first = await client.next_value(subscription)
        client.drop()
    # While nobody reads, the first run writes more, then a restart ends it.
    await get_json(f"{web['url']}/env")
    restarted = await server_api.mutate(RESTART, {"id": workspace.id, "name": "web", "wait": True})
    (service,) = restarted["services"]
    second_run = service["startOperation"]["id"]

    async with GraphQLWebSocket.connect(server.ws_url, server.token) as client:
        resumed = await client.subscribe(
            SERVICE_LOG, {**variables, "offset": first["nextOffset"], "operationId": first_run}
        )
        rest = [chunk async for chunk in client.values(resumed)]
        current = await client.subscribe(SERVICE_LOG, variables)
        newest = await client.next_value(current)

    assert second_run != first_run
    assert {chunk["operationId"] for chunk in [first, *rest]} == {first_run}
    assert rest[0]["offset"] == first["nextOffset"]
    log = (await server_api.gql(LOG, {"id": first_run}))["operation"]["log"]["content"]
    assert "".join(chunk["content"] for chunk in [first, *rest]) == log
    assert "GET /env" in log
    assert (newest["operationId"], newest["offset"]) == (second_run, 0)
    assert "listening on" in newest["content"]


async def test_service_streams_refuse_unknown_unstarted_and_foreign_things(
    api: Api, git_repo: Path
) -> None:
    workspace = await runtime_workspace(api, git_repo, [http_service(), CRASHER])
    web = await started(api, workspace, "web")
    _, stranger = await api.agent("stranger")
    base = {"workspaceId": workspace.id, "offset": 0}

    for variables, token, expected in (
        ({**base, "name": "nope"}, None, "NotFoundError"),
        ({**base, "name": "crasher"}, None, "ConflictError"),
        (
            {**base, "name": "crasher", "operationId": web["startOperation"]["id"]},
            None,
            "ConflictError",
        ),
        ({**base, "name": "web", "operationId": "not-an-id"}, None, "InvalidInputError"),
        ({**base, "name": "web"}, stranger, "ForbiddenError"),
    ):
        async with api.subscribe(SERVICE_LOG, variables, token=token) as values:
            event = await asyncio.wait_for(anext(values), 30)
            assert event["__typename"] == expected, (variables, event)

    async with api.subscribe(
        SERVICE_STATUS, {"workspaceId": workspace.id}, token=stranger
    ) as values:
        assert (await asyncio.wait_for(anext(values), 30))["__typename"] == "ForbiddenError"
    async with api.subscribe(
        SERVICE_STATUS, {"workspaceId": workspace.id}, token=workspace.token
    ) as values:
        assert (await asyncio.wait_for(anext(values), 30))["name"] == "web"
