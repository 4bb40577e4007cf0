"""Agents as the operator's screens list and create them."""

from __future__ import annotations

from unittest.mock import ANY

from tests.support.api import Api

AGENTS = "{ agents { id name } }"
REVOKE = "mutation($id: ID!) { revokeAgent(agentId: $id) { __typename } }"


async def test_agents_lists_every_agent_by_name(api: Api) -> None:
    zed_id, _ = await api.agent("zed")
    ada_id, _ = await api.agent("ada")

    data = await api.gql(AGENTS)

    assert data["agents"] == [{"id": ada_id, "name": "ada"}, {"id": zed_id, "name": "zed"}]


CREATE = """
mutation($name: String!) { createAgent(input: {name: $name}) {
  __typename ... on CreateAgentSuccess { agent { name } } ... on Error { message } } }
"""


async def test_a_second_active_agent_of_the_same_name_is_refused(api: Api) -> None:
    await api.agent("coder")

    again = await api.mutate(CREATE, {"name": " Coder "})

    assert again == {
        "__typename": "ConflictError",
        "message": "An active agent named 'Coder' already exists; "
        "choose another name or revoke that agent first.",
    }
    assert (await api.gql(AGENTS))["agents"] == [{"id": ANY, "name": "coder"}]


async def test_a_revoked_agent_s_name_can_be_given_again(api: Api) -> None:
    agent_id, _ = await api.agent("coder")
    await api.ok(REVOKE, {"id": agent_id})

    again = await api.mutate(CREATE, {"name": "coder"})

    assert again == {"__typename": "CreateAgentSuccess", "agent": {"name": "coder"}}
