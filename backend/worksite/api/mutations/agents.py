from __future__ import annotations

from typing import Annotated

import strawberry

from worksite.api.context import Info
from worksite.api.errors import Errors, returns_errors
from worksite.api.types.agent import Agent, agent_type
from worksite.domain import agents


@strawberry.type
class CreateAgentSuccess:
    agent: Agent
    token: str = strawberry.field(description="Shown once; only its hash is kept.")


CreateAgentResult = Annotated[CreateAgentSuccess | Errors, strawberry.union("CreateAgentResult")]
AgentResult = Annotated[Agent | Errors, strawberry.union("AgentResult")]


@strawberry.input
class CreateAgentInput:
    name: str


@strawberry.type
class AgentMutations:
    @strawberry.mutation(
        description="A new agent and its token, returned only here. No two active "
        "agents share a name."
    )
    @returns_errors
    async def create_agent(self, info: Info, input: CreateAgentInput) -> CreateAgentResult:
        row, token = await agents.create_agent(info.context.principal, input.name)
        return CreateAgentSuccess(agent=agent_type(row), token=token)

    @strawberry.mutation(
        description="Stop the agent's token from working at once and close its live "
        "connections; the agent stays, shown as revoked."
    )
    @returns_errors
    async def revoke_agent(self, info: Info, agent_id: strawberry.ID) -> AgentResult:
        return agent_type(await agents.revoke_agent(info.context.principal, agent_id))
