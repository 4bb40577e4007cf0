"""Tokens: stored as digests, refused once revoked, and a revoked agent's live
connections closed at once."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed

from tests.support.api import Api
from tests.support.gqlws import GraphQLWebSocket
from tests.support.scenarios import checked_out_issue
from tests.support.server import ServerProcess
from worksite.models import Agent
from worksite.settings import Settings

REVOKE = """
mutation($id: ID!) { revokeAgent(agentId: $id) {
  __typename ... on Agent { id name revokedAt } ... on Error { message } } }
"""
AGENTS = "query($all: Boolean!) { agents(includeRevoked: $all) { name revokedAt } }"
VIEWER = "{ viewer { role name } }"
RUNS = """
query($id: ID!) { issue(id: $id) { runs { agent { name revokedAt } } } }
"""
RUN_CHANGED = """
subscription($id: ID!) { runChanged(projectId: $id) { __typename ... on Run { id } } }
"""


async def test_an_agent_token_is_stored_only_as_its_sha256_digest(api: Api) -> None:
    _, token = await api.agent("coder")

    (row,) = await Agent.all().values_list()

    assert not any(token in str(value) for value in row)
    assert hashlib.sha256(token.encode()).hexdigest() in row


async def test_a_revoked_token_is_refused_at_once_and_the_agent_stays_for_history(
    api: Api, git_repo: Path
) -> None:
    ids = await checked_out_issue(api, git_repo)
    agent_id = (await api.gql("{ viewer { agent { id } } }", token=ids["token"]))["viewer"]
    assert (await api.post(VIEWER, token=ids["token"])).status_code == 200

    revoked = await api.ok(REVOKE, {"id": agent_id["agent"]["id"]})

    assert revoked["revokedAt"] is not None
    refused = await api.post(VIEWER, token=ids["token"])
    assert refused.status_code == 401
    assert await api.gql(AGENTS, {"all": False}) == {"agents": []}
    assert (await api.gql(AGENTS, {"all": True}))["agents"] == [
        {"name": "PAP-agent", "revokedAt": revoked["revokedAt"]}
    ]
    runs = (await api.gql(RUNS, {"id": ids["issue"]}))["issue"]["runs"]
    assert runs == [{"agent": {"name": "PAP-agent", "revokedAt": revoked["revokedAt"]}}]


async def test_revoking_twice_keeps_the_first_time_and_an_unknown_agent_is_not_found(
    api: Api,
) -> None:
    agent_id, _ = await api.agent("coder")
    first = await api.ok(REVOKE, {"id": agent_id})

    again = await api.ok(REVOKE, {"id": agent_id})
    unknown = await api.mutate(REVOKE, {"id": "00000000-0000-0000-0000-000000000000"})
    malformed = await api.mutate(REVOKE, {"id": "nope"})

    assert again["revokedAt"] == first["revokedAt"]
    assert unknown["__typename"] == "NotFoundError"
    assert malformed["__typename"] == "InvalidInputError"


@pytest.mark.timeout(180)
async def test_revoking_an_agent_closes_its_open_websockets_with_4403(
    server: ServerProcess, server_api: Api, git_repo: Path
) -> None:
    ids = await checked_out_issue(server_api, git_repo)
    viewer = await server_api.gql("{ viewer { agent { id } } }", token=ids["token"])
    variables = {"id": ids["project"]}

    async with (
        GraphQLWebSocket.connect(server.ws_url, ids["token"]) as agent,
        GraphQLWebSocket.connect(server.ws_url, server_api.operator_token) as operator,
    ):
        mine = await agent.subscribe(RUN_CHANGED, variables)
        assert (await agent.next_value(mine))["id"] == ids["run"]
        watching = await operator.subscribe(RUN_CHANGED, variables)
        assert (await operator.next_value(watching))["id"] == ids["run"]

        await server_api.ok(REVOKE, {"id": viewer["viewer"]["agent"]["id"]})

        with pytest.raises(ConnectionClosed) as closed:
            await agent.message(mine)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403
        # The operator's connection goes on: a new stream still answers.
        again = await operator.subscribe(RUN_CHANGED, variables)
        assert (await operator.next_value(again))["id"] == ids["run"]


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_a_revocation_closes_the_agents_websockets_on_every_server(
    server: ServerProcess, server_api: Api, settings: Settings, git_repo: Path
) -> None:
    # Two servers on one PostgreSQL database: the revocation is made on the first, the
    # agent listens on the second, which hears of it through the database's relay.
    ids = await checked_out_issue(server_api, git_repo)
    viewer = await server_api.gql("{ viewer { agent { id } } }", token=ids["token"])
    second = ServerProcess(
        settings.data_dir, settings.database_url, server_api.operator_token, "second"
    )
    try:
        second.start()
        async with GraphQLWebSocket.connect(second.ws_url, ids["token"]) as agent:
            mine = await agent.subscribe(RUN_CHANGED, {"id": ids["project"]})
            assert (await agent.next_value(mine))["id"] == ids["run"]

            await server_api.ok(REVOKE, {"id": viewer["viewer"]["agent"]["id"]})

            with pytest.raises(ConnectionClosed) as closed:
                await agent.message(mine)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403
    finally:
        second.stop()
