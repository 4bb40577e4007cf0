"""Relay bus events between server processes through PostgreSQL LISTEN/NOTIFY.

Each process keeps one asyncpg connection that LISTENs on one channel and sends
the process's own events on it with pg_notify, in the order they were published.
Every process, the sender included, delivers what it hears to its subscribers.

A NOTIFY payload holds at most 8000 bytes; ours is a topic and an id. When the
connection drops, events may have been missed: after reconnecting, the relay
tells every local subscriber to resync from the database, then sends what was
published meanwhile.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg  # type: ignore[import-untyped]

if TYPE_CHECKING:
    from worksite.events import Event, EventBus

log = logging.getLogger(__name__)

CHANNEL = "worksite_events"
PAYLOAD_LIMIT = 8000
# Events published while PostgreSQL is out of reach wait here, up to this many.
OUTBOX_SIZE = 10_000
CONNECT_TIMEOUT = 10.0
STOP_TIMEOUT = 3.0
RECONNECT_DELAYS = (0.1, 0.5, 1.0, 2.0, 5.0)
SCHEMES = ("postgres", "postgresql", "asyncpg")
# Options of Tortoise's connection pool, which asyncpg.connect does not take.
TORTOISE_OPTIONS = {"minsize", "maxsize", "max_queries", "max_inactive_connection_lifetime"}


def is_postgres(database_url: str) -> bool:
    return database_url.split(":", 1)[0] in SCHEMES


def asyncpg_dsn(database_url: str) -> str:
    """The database URL as asyncpg.connect takes it."""
    parts = urlsplit(database_url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k not in TORTOISE_OPTIONS]
    return urlunsplit(parts._replace(scheme="postgresql", query=urlencode(query)))


CONNECTION_ERRORS = (OSError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError)


class _Lost:
    """Put in the outbox when the connection closes, to wake the sender."""


LOST = _Lost()


class PostgresRelay:
    def __init__(self, database_url: str, bus: EventBus) -> None:
        self.dsn = asyncpg_dsn(database_url)
        self.bus = bus
        self._outbox: asyncio.Queue[str | _Lost] = asyncio.Queue(OUTBOX_SIZE)
        self._connection: asyncpg.Connection | None = None
        self._task: asyncio.Task[None] | None = None
        self._dropped = 0

    async def start(self) -> None:
        """Connect and listen; raises if PostgreSQL cannot be reached now."""
        self._connection = await self._connect()
        self._task = asyncio.create_task(self._run(), name="worksite-event-relay")

    async def stop(self) -> None:
        """Send what is still in the outbox (for a few seconds at most), then close."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        connection, self._connection = self._connection, None
        if connection is None or connection.is_closed():
            return
        try:
            await asyncio.wait_for(self._flush(connection), STOP_TIMEOUT)
            await asyncio.wait_for(connection.close(), STOP_TIMEOUT)
        except (TimeoutError, asyncpg.PostgresError, *CONNECTION_ERRORS):
            connection.terminate()

    async def _flush(self, connection: asyncpg.Connection) -> None:
        while not self._outbox.empty():
            payload = self._outbox.get_nowait()
            if not isinstance(payload, _Lost):
                await connection.execute("SELECT pg_notify($1, $2)", CHANNEL, payload)

    def send(self, event: Event) -> None:
        payload = json.dumps({"topic": event.topic, "id": event.id})
        if len(payload.encode()) > PAYLOAD_LIMIT:
            raise ValueError(
                f"Expected an event payload of at most {PAYLOAD_LIMIT} bytes, "
                f"got {len(payload.encode())} for topic {event.topic[:100]!r}."
            )
        try:
            self._outbox.put_nowait(payload)
        except asyncio.QueueFull:
            # Every process misses this event; here at least, subscribers reload.
            self._dropped += 1
            if self._dropped == 1:
                log.warning("event outbox full; dropping events until PostgreSQL answers")
            self.bus.resync_all()

    async def _connect(self) -> asyncpg.Connection:
        connection = await asyncpg.connect(self.dsn, timeout=CONNECT_TIMEOUT)
        await connection.add_listener(CHANNEL, self._heard)
        connection.add_termination_listener(self._lost)
        return connection

    async def _run(self) -> None:
        while True:
            payload = await self._outbox.get()
            if self._is_down():
                await self._reconnect()
            if isinstance(payload, _Lost):
                continue
            assert self._connection is not None
            try:
                await self._connection.execute("SELECT pg_notify($1, $2)", CHANNEL, payload)
            except CONNECTION_ERRORS as exc:
                log.warning("could not send an event through PostgreSQL: %s", exc)
                self._requeue(payload)
                await self._reconnect()
            except asyncpg.PostgresError as exc:
                log.warning("PostgreSQL refused an event (%s): %.200r", exc, payload)

    def _is_down(self) -> bool:
        return self._connection is None or self._connection.is_closed()

    async def _reconnect(self) -> None:
        old, self._connection = self._connection, None
        if old is not None:
            old.terminate()
        for attempt in itertools.count():
            await asyncio.sleep(RECONNECT_DELAYS[min(attempt, len(RECONNECT_DELAYS) - 1)])
            try:
                self._connection = await self._connect()
                break
            except (TimeoutError, asyncpg.PostgresError, *CONNECTION_ERRORS) as exc:
                # Refused, timed out, or not yet accepting ("the database system is
                # starting up"): any of them passes once PostgreSQL is back.
                log.warning("event relay: PostgreSQL unreachable (%r); retrying", exc)
        log.info("event relay reconnected to PostgreSQL")
        self._dropped = 0
        # Events may have been published while nobody listened.
        self.bus.resync_all()

    def _requeue(self, payload: str) -> None:
        # It may now follow newer events; that is harmless, since subscribers
        # reload the row an event names rather than trust the event's order.
        try:
            self._outbox.put_nowait(payload)
        except asyncio.QueueFull:
            self._dropped += 1

    def _heard(self, connection: Any, pid: int, channel: str, payload: str) -> None:
        from worksite.events import Event

        try:
            data = json.loads(payload)
            event = Event(str(data["topic"]), str(data["id"]))
        except (ValueError, KeyError, TypeError):
            log.warning("ignored a malformed event on %s: %.200r", channel, payload)
            return
        self.bus.deliver(event)

    def _lost(self, connection: Any) -> None:
        if connection is self._connection:
            log.warning("event relay lost its PostgreSQL connection")
            try:
                self._outbox.put_nowait(LOST)
            except asyncio.QueueFull:
                pass  # the sender fails on the closed connection and reconnects
