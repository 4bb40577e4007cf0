"""The PostgreSQL relay: events reach the subscribers of every bus on one database."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from tests.conftest import new_postgres_database
from tests.support.postgres import PostgresCluster
from worksite.events import RESYNC, Event, EventBus, Resync, Subscription
from worksite.events import postgres as postgres_relay
from worksite.events.postgres import PAYLOAD_LIMIT, asyncpg_dsn

DEADLINE = 30.0


@pytest.fixture
def database_url(postgres: PostgresCluster) -> str:
    return new_postgres_database(postgres)


@pytest.fixture
async def buses(database_url: str) -> AsyncIterator[tuple[EventBus, EventBus]]:
    first, second = EventBus(), EventBus()
    await first.start(database_url)
    await second.start(database_url)
    try:
        yield first, second
    finally:
        await first.stop()
        await second.stop()


async def get(subscription: Subscription) -> Event | Resync:
    return await asyncio.wait_for(subscription.get(), DEADLINE)


async def test_an_event_reaches_subscribers_of_every_bus_including_the_publishers(
    buses: tuple[EventBus, EventBus],
) -> None:
    first, second = buses
    async with first.subscribe("t") as here, second.subscribe("t") as there:
        first.publish("t", "1")
        second.publish("t", "2")

        # Two publishers: each process's events keep their order, not the mix.
        assert {await get(here), await get(here)} == {Event("t", "1"), Event("t", "2")}
        assert {await get(there), await get(there)} == {Event("t", "1"), Event("t", "2")}


async def test_events_from_one_bus_arrive_in_the_order_published(
    buses: tuple[EventBus, EventBus],
) -> None:
    first, second = buses
    async with second.subscribe("t") as there:
        for i in range(500):
            first.publish("t", str(i))

        assert [(await get(there)).id for _ in range(500)] == [str(i) for i in range(500)]  # type: ignore[union-attr]


async def test_a_payload_over_the_notify_limit_is_refused_when_published(
    buses: tuple[EventBus, EventBus],
) -> None:
    first, _ = buses
    with pytest.raises(ValueError, match=f"at most {PAYLOAD_LIMIT} bytes"):
        first.publish("t" * PAYLOAD_LIMIT, "1")


async def test_after_losing_its_connection_a_relay_reconnects_and_subscribers_resync(
    buses: tuple[EventBus, EventBus], postgres: PostgresCluster, database_url: str
) -> None:
    first, second = buses
    database = database_url.rsplit("/", 1)[1]
    async with first.subscribe("t") as here, second.subscribe("t") as there:
        postgres.psql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            f"WHERE datname = '{database}' AND pid <> pg_backend_pid()"
        )

        assert await get(here) is RESYNC
        assert await get(there) is RESYNC
        first.publish("t", "after")
        assert await get(here) == Event("t", "after")
        assert await get(there) == Event("t", "after")


def test_tortoise_pool_options_are_left_out_of_the_asyncpg_dsn() -> None:
    url = "postgres://u:p@127.0.0.1:5432/db?maxsize=20&sslmode=disable&minsize=2"

    assert asyncpg_dsn(url) == "postgresql://u:p@127.0.0.1:5432/db?sslmode=disable"


async def test_the_relay_reconnects_after_postgresql_refused_it_for_a_while(
    postgres: PostgresCluster, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(postgres_relay, "RECONNECT_DELAYS", (0.1,))
    name = database_url.rsplit("/", 1)[1]
    bus = EventBus()
    await bus.start(database_url)
    try:
        # Refused as PostgreSQL refuses while it starts up or has no slot left: with
        # an error of the server's own, not a failed connection.
        postgres.psql(f"ALTER DATABASE {name} ALLOW_CONNECTIONS false")
        postgres.psql(
            f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
        )
        bus.publish("t", "during")
        await asyncio.sleep(1.0)  # several attempts are refused meanwhile
        postgres.psql(f"ALTER DATABASE {name} ALLOW_CONNECTIONS true")

        async with bus.subscribe("t") as subscription:
            bus.publish("t", "after")
            heard = [await get(subscription)]
            while heard[-1] != Event("t", "after"):  # after a RESYNC, say
                heard.append(await get(subscription))
    finally:
        await bus.stop()
