"""Publish/subscribe bus for changes that clients follow live.

In-process by default: each subscriber gets a bounded queue; a subscriber that
falls behind loses events (and is told so) instead of growing server memory.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

log = logging.getLogger(__name__)

QUEUE_SIZE = 1000


class Overflow:
    """Put in a queue in place of the events a slow subscriber missed."""


class EventBus:
    def __init__(self) -> None:
        self._queues: dict[str, set[asyncio.Queue[Any]]] = defaultdict(set)

    def publish(self, topic: str, event: Any) -> None:
        for queue in list(self._queues.get(topic, ())):
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:
                _mark_overflow(queue)

    @asynccontextmanager
    async def subscribe(self, topic: str) -> AsyncIterator[asyncio.Queue[Any]]:
        queue: asyncio.Queue[Any] = asyncio.Queue(QUEUE_SIZE)
        self._queues[topic].add(queue)
        try:
            yield queue
        finally:
            self._queues[topic].discard(queue)
            if not self._queues[topic]:
                del self._queues[topic]

    def subscriber_count(self) -> int:
        return sum(len(queues) for queues in self._queues.values())


def _mark_overflow(queue: asyncio.Queue[Any]) -> None:
    # Keep the newest state reachable: drop the oldest event, then say so.
    try:
        queue.get_nowait()
        queue.put_nowait(Overflow())
    except (asyncio.QueueEmpty, asyncio.QueueFull):
        pass


bus = EventBus()
