"""Agents and their tokens: shown once at creation, stored only as a hash."""

from __future__ import annotations

from worksite.domain import validation
from worksite.domain.auth import Principal, hash_token, new_token, require_operator
from worksite.models import Agent


async def create_agent(principal: Principal, name: str) -> tuple[Agent, str]:
    require_operator(principal, "create agents")
    name = validation.text("name", name, 200, required=True)
    token = new_token()
    agent = await Agent.create(name=name, token_hash=hash_token(token))
    return agent, token
