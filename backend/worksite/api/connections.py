"""Open WebSockets by agent, so that revoking an agent ends its live streams at once.

Each server process keeps its own; a revocation reaches every process through
the event bus (LISTEN/NOTIFY with PostgreSQL), and each closes the agent's
sockets with 4403, the code a refused token gets at connection_init.
"""

from __future__ import annotations

import contextlib
import logging
from collections import defaultdict
from typing import Any
from uuid import UUID

from starlette.websockets import WebSocket

from worksite.events import Event, agents_topic, bus
from worksite.models import Agent

log = logging.getLogger(__name__)

REVOKED = 4403


class Connections:
    def __init__(self) -> None:
        self._by_agent: defaultdict[UUID, set[WebSocket]] = defaultdict(set)

    def add(self, agent_id: UUID, websocket: WebSocket) -> None:
        self._by_agent[agent_id].add(websocket)

    def forget(self, scope: dict[str, Any]) -> None:
        """Drop the socket of this ASGI scope, once its connection has ended."""
        for agent_id, sockets in list(self._by_agent.items()):
            sockets.difference_update({s for s in sockets if s.scope is scope})
            if not sockets:
                del self._by_agent[agent_id]

    async def close_agent(self, agent_id: UUID) -> int:
        """Close every open socket of the agent; how many there were."""
        sockets = self._by_agent.pop(agent_id, set())
        for websocket in sockets:
            # Already closing from the other side: nothing left to end.
            with contextlib.suppress(RuntimeError, OSError):
                await websocket.close(code=REVOKED, reason="Agent revoked")
        if sockets:
            log.info("closed %d WebSocket(s) of revoked agent %s", len(sockets), agent_id)
        return len(sockets)

    async def follow_revocations(self) -> None:
        """Close the sockets of each agent revoked, here or by another server process."""
        async with bus.subscribe(agents_topic()) as events:
            while True:
                item = await events.get()
                # After lost events, look at every agent that has a socket open here.
                ids = [UUID(item.id)] if isinstance(item, Event) else list(self._by_agent)
                revoked = Agent.filter(id__in=ids).exclude(revoked_at=None)
                for agent_id in await revoked.values_list("id", flat=True):
                    await self.close_agent(agent_id)  # type: ignore[arg-type]
