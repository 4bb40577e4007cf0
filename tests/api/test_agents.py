"""Agents as the operator's screens list them."""

from __future__ import annotations

from tests.support.api import Api

AGENTS = "{ agents { id name } }"


async def test_agents_lists_every_agent_by_name(api: Api) -> None:
    zed_id, _ = await api.agent("zed")
    ada_id, _ = await api.agent("ada")

    data = await api.gql(AGENTS)

    assert data["agents"] == [{"id": ada_id, "name": "ada"}, {"id": zed_id, "name": "zed"}]
