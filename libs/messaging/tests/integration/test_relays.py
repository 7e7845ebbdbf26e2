"""Two relays at once: every row published, none lost, per-key order kept."""

from __future__ import annotations

import asyncio

from orderflow_messaging.envelope import Envelope
from orderflow_messaging.kafka import start_producer, stop_producer
from orderflow_messaging.relay import OutboxRelay

from .conftest import Harness, eventually, read_all, running_consumer, running_relay

KEYS = 12
PER_KEY = 25


async def test_two_relays_publish_every_row_once_in_key_order(
    harness: Harness, kafka_bootstrap: str
) -> None:
    async def writer(key: int) -> None:
        for n in range(PER_KEY):
            await harness.put(f"order-{key}", n)

    async with running_relay(harness, batch_size=7), running_relay(harness, batch_size=7):
        # Rows keep arriving while both relays run.
        await asyncio.gather(*(writer(k) for k in range(KEYS)))

        async def drained() -> bool:
            pending = await harness.scalar("SELECT count(*) FROM outbox WHERE published_at IS NULL")
            return bool(pending == 0)

        await eventually(drained)

    total = KEYS * PER_KEY
    records = await read_all(kafka_bootstrap, harness.topic, expect=total, timeout=60)
    envelopes = [Envelope.model_validate_json(r.value or b"") for r in records]
    # Nothing lost; with relays that hold a slot lock while publishing, nothing doubled.
    assert len({e.message_id for e in envelopes}) == total
    assert len(envelopes) == total
    by_key: dict[str, list[int]] = {}
    for envelope in envelopes:
        by_key.setdefault(envelope.correlation_id, []).append(int(envelope.payload["n"]))
    assert all(ns == list(range(PER_KEY)) for ns in by_key.values()), by_key

    async with running_consumer(harness, harness.consumer(), group_id="two-relays"):

        async def all_applied() -> bool:
            return len(await harness.effects()) == total

        await eventually(all_applied, timeout=60)
    assert await harness.scalar("SELECT count(DISTINCT message_id) FROM effects") == total


async def test_a_relay_keeps_its_slots_until_it_stops_then_another_takes_them(
    harness: Harness, kafka_bootstrap: str
) -> None:
    async def drained() -> bool:
        pending = await harness.scalar("SELECT count(*) FROM outbox WHERE published_at IS NULL")
        return bool(pending == 0)

    async def put_round(n: int) -> None:
        for key in range(KEYS):
            await harness.put(f"order-{key}", n)

    async with running_relay(harness) as first:
        await put_round(0)
        await eventually(drained)
        held_by_first = first.owned_slots
        assert held_by_first, "the relay publishes only slots it holds"
        async with running_relay(harness) as second:
            await put_round(1)
            await eventually(drained)
            # A slot has one holder at a time.
            assert not held_by_first & second.owned_slots
            assert held_by_first <= first.owned_slots
        # The second stopped: its session, and its locks, are gone.
        assert second.owned_slots == frozenset()
    async with running_relay(harness) as third:
        await put_round(2)
        await eventually(drained)
        assert held_by_first & third.owned_slots, "slots free again after the first stopped"

    records = await read_all(kafka_bootstrap, harness.topic, expect=3 * KEYS, timeout=60)
    envelopes = [Envelope.model_validate_json(r.value or b"") for r in records]
    assert len({e.message_id for e in envelopes}) == len(envelopes) == 3 * KEYS
    by_key: dict[str, list[int]] = {}
    for envelope in envelopes:
        by_key.setdefault(envelope.correlation_id, []).append(int(envelope.payload["n"]))
    assert all(ns == [0, 1, 2] for ns in by_key.values()), by_key


async def test_marks_of_several_passes_go_together_and_nothing_is_sent_twice(
    harness: Harness, kafka_bootstrap: str
) -> None:
    producer = await start_producer(harness.kafka)
    relay = OutboxRelay(harness.engine, producer, harness.kafka, schema=harness.db.schema)
    pending = "SELECT count(*) FROM outbox WHERE published_at IS NULL"
    try:
        for n in range(3):
            await harness.put("order-a", n)
        assert await relay._pass() == 3
        for n in range(3, 5):
            await harness.put("order-a", n)
        # The second pass claims only the new rows: the first three are sent, not marked.
        assert await relay._pass() == 2
        assert await relay._pass() == 0
        assert await harness.scalar(pending) == 5
        before_mark = await harness.scalar("SELECT now()")
        await relay.mark_sent()
        assert await harness.scalar(pending) == 0
        # published_at is when the broker acknowledged a row, not when it was marked.
        assert await harness.scalar("SELECT max(published_at) FROM outbox") < before_mark
    finally:
        await relay.release_slots()
        await stop_producer(producer, harness.kafka)
    records = await read_all(kafka_bootstrap, harness.topic, expect=5)
    envelopes = [Envelope.model_validate_json(r.value or b"") for r in records]
    assert [int(e.payload["n"]) for e in envelopes] == [0, 1, 2, 3, 4]
