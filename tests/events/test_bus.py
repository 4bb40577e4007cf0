"""The in-process bus: ids, not rows; bounded queues; RESYNC for whoever fell behind."""

from __future__ import annotations

import asyncio
import uuid

from worksite.events import RESYNC, Event, EventBus

DEADLINE = 10.0


async def test_subscribers_of_a_topic_get_its_events_in_order() -> None:
    bus = EventBus()
    async with bus.subscribe("a") as first, bus.subscribe("a", "b") as second:
        bus.publish("a", "1")
        bus.publish("b", "2")
        bus.publish("c", "3")
        bus.publish("a", "4")

        assert [await first.get(), await first.get()] == [Event("a", "1"), Event("a", "4")]
        assert [await second.get() for _ in range(3)] == [
            Event("a", "1"),
            Event("b", "2"),
            Event("a", "4"),
        ]


async def test_an_event_names_a_row_by_its_id() -> None:
    bus = EventBus()
    row_id = uuid.uuid4()
    async with bus.subscribe("t") as events:
        bus.publish("t", row_id)

        assert await events.get() == Event("t", str(row_id))


async def test_a_subscriber_that_falls_behind_gets_one_resync_instead_of_the_backlog() -> None:
    bus = EventBus(queue_size=10)
    async with bus.subscribe("t") as slow, bus.subscribe("t") as keeping_up:
        for i in range(11):  # one more than fits
            bus.publish("t", str(i))  # never waits, however full a queue is
            assert await asyncio.wait_for(keeping_up.get(), DEADLINE) == Event("t", str(i))
        bus.publish("t", "after")

        assert await slow.get() is RESYNC
        assert await slow.get() == Event("t", "after")
        assert slow.empty()


async def test_leaving_a_subscription_unregisters_it() -> None:
    bus = EventBus()
    async with bus.subscribe("a", "b"):
        assert bus.subscriber_count() == 1
    assert bus.subscriber_count() == 0
    bus.publish("a", "1")  # nobody listens; nothing is kept


async def test_resync_all_reaches_every_subscriber() -> None:
    bus = EventBus()
    async with bus.subscribe("a") as first, bus.subscribe("b") as second:
        bus.publish("a", "1")
        bus.resync_all()

        assert await first.get() is RESYNC
        assert await second.get() is RESYNC
