"""Publish/subscribe bus for changes that clients follow live.

An event says what changed, not how it looks now: a topic such as
`workspace-operations:<workspace id>` and the id of the row. Subscribers reload
the row, so an event fits in a PostgreSQL NOTIFY payload and every subscriber
sees the row as it is when the event reaches it.

Delivery is in-process by default. When the database is PostgreSQL, `start()`
relays every event through LISTEN/NOTIFY (events/postgres.py), so subscribers
connected to any server process sharing the database hear it; each process
then delivers what it hears, its own events included, to its subscribers.

Every subscriber has a bounded queue. One that falls behind loses what was
queued and finds a single RESYNC in its place: it reloads what it follows from
the database. A slow reader thus costs neither server memory nor the time of
other subscribers, and publishing never waits.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from uuid import UUID

from tortoise.models import Model

if TYPE_CHECKING:
    from worksite.events.postgres import PostgresRelay

log = logging.getLogger(__name__)

QUEUE_SIZE = 1000


@dataclass(frozen=True)
class Event:
    """`id` names the row that changed; the topic says which kind of row it is."""

    topic: str
    id: str


class Resync:
    """Put in a queue in place of the events its subscriber missed."""

    def __repr__(self) -> str:
        return "RESYNC"


RESYNC = Resync()


class Subscription:
    """The events of some topics, in the order they were published."""

    def __init__(self, topics: tuple[str, ...], size: int) -> None:
        self.topics = topics
        self._queue: asyncio.Queue[Event | Resync] = asyncio.Queue(size)
        # When the subscriber last had every event published until then.
        self.caught_up_at = datetime.now(UTC)

    async def get(self) -> Event | Resync:
        if self._queue.empty():
            self.caught_up_at = datetime.now(UTC)
        return await self._queue.get()

    def empty(self) -> bool:
        return self._queue.empty()

    def __aiter__(self) -> AsyncIterator[Event | Resync]:
        return self._events()

    async def _events(self) -> AsyncIterator[Event | Resync]:
        while True:
            yield await self._queue.get()

    def put(self, item: Event | Resync) -> None:
        try:
            self._queue.put_nowait(item)
        except asyncio.QueueFull:
            self.resync()

    def resync(self) -> None:
        # What was queued is stale anyway once the subscriber reloads.
        while not self._queue.empty():
            self._queue.get_nowait()
        self._queue.put_nowait(RESYNC)


class EventBus:
    def __init__(self, queue_size: int = QUEUE_SIZE) -> None:
        self.queue_size = queue_size
        self._subscriptions: defaultdict[str, set[Subscription]] = defaultdict(set)
        self._relay: PostgresRelay | None = None

    def publish(self, topic: str, subject: Model | UUID | str) -> None:
        """Announce that `subject` (a row, or its id) changed; never waits."""
        key = subject.pk if isinstance(subject, Model) else subject
        event = Event(topic, str(key))
        if self._relay is not None:
            self._relay.send(event)
        else:
            self.deliver(event)

    def deliver(self, event: Event) -> None:
        """Hand an event to this process's subscribers of its topic."""
        for subscription in list(self._subscriptions.get(event.topic, ())):
            subscription.put(event)

    def resync_all(self) -> None:
        """Tell every subscriber that events may have been lost."""
        for subscription in {s for group in self._subscriptions.values() for s in group}:
            subscription.resync()

    @asynccontextmanager
    async def subscribe(self, *topics: str) -> AsyncIterator[Subscription]:
        subscription = Subscription(topics, self.queue_size)
        for topic in topics:
            self._subscriptions[topic].add(subscription)
        try:
            yield subscription
        finally:
            for topic in topics:
                self._subscriptions[topic].discard(subscription)
                if not self._subscriptions[topic]:
                    del self._subscriptions[topic]

    def subscriber_count(self) -> int:
        return len({s for group in self._subscriptions.values() for s in group})

    async def start(self, database_url: str) -> None:
        """Relay events through PostgreSQL when that is the database."""
        from worksite.events.postgres import PostgresRelay, is_postgres

        if not is_postgres(database_url) or self._relay is not None:
            return
        relay = PostgresRelay(database_url, self)
        await relay.start()
        self._relay = relay

    async def stop(self) -> None:
        relay, self._relay = self._relay, None
        if relay is not None:
            await relay.stop()


bus = EventBus()


# Topics, named in one place so publishers and subscribers agree.


def operations_topic(workspace_id: UUID | str) -> str:
    return f"workspace-operations:{workspace_id}"


def workspaces_topic(project_id: UUID | str) -> str:
    return f"workspace-changed:{project_id}"


def runs_topic(project_id: UUID | str) -> str:
    return f"runs:{project_id}"


def services_topic(workspace_id: UUID | str) -> str:
    return f"service-status:{workspace_id}"


def agents_topic() -> str:
    """Agents revoked: each server process closes their live connections."""
    return "agents"


def issues_topic(project_id: UUID | str) -> str:
    return f"issues:{project_id}"
