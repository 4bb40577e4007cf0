"""Agents and their tokens: shown once at creation, stored only as a hash, revocable."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from uuid import UUID

from worksite.domain import validation
from worksite.domain.auth import Principal, hash_token, new_token, require_operator
from worksite.domain.errors import Conflict
from worksite.domain.lookup import find
from worksite.events import agents_topic, bus
from worksite.models import Agent

log = logging.getLogger(__name__)


async def create_agent(principal: Principal, name: str) -> tuple[Agent, str]:
    require_operator(principal, "create agents")
    name = validation.text("name", name, 200, required=True)
    # Issues are assigned by name on screen: two working agents must not share
    # one. A revoked agent's name is free again, for an agent that replaces it.
    if await Agent.filter(name__iexact=name, revoked_at=None).exists():
        raise Conflict(
            f"An active agent named {name!r} already exists; "
            "choose another name or revoke that agent first."
        )
    token = new_token()
    agent = await Agent.create(name=name, token_hash=hash_token(token))
    return agent, token


async def revoke_agent(principal: Principal, agent_id: UUID | str) -> Agent:
    """Stop the agent's token from working; the agent stays, for the history of its runs.

    Every later request with the token is refused; the event tells each server
    process to close the agent's open WebSockets. Revoking twice changes nothing.
    """
    require_operator(principal, "revoke agents")
    agent = await find(Agent, "agent", "agentId", agent_id)
    if agent.revoked_at is None:
        agent.revoked_at = datetime.now(UTC)
        await agent.save(update_fields=["revoked_at"])
        log.info("agent %s revoked", agent.name)
    bus.publish(agents_topic(), agent)
    return agent
