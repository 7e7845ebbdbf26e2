"""Two relays at once: every row published, none lost, per-key order kept."""

from __future__ import annotations

import asyncio

from orderflow_messaging.db import hot_pool
from orderflow_messaging.envelope import Envelope
from orderflow_messaging.kafka import start_producer, stop_producer
from orderflow_messaging.outbox import Outbox, OutgoingRecord
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
            pending = await harness.scalar("SELECT count(*) FROM outbox_pending")
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
        pending = await harness.scalar("SELECT count(*) FROM outbox_pending")
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
    pending = "SELECT count(*) FROM outbox_pending"
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
        await relay.mark_sent()
        assert await harness.scalar(pending) == 0
        assert await harness.scalar("SELECT count(*) FROM outbox") == 5  # kept, unchanged
    finally:
        await relay.release_slots()
        await stop_producer(producer, harness.kafka)
    records = await read_all(kafka_bootstrap, harness.topic, expect=5)
    envelopes = [Envelope.model_validate_json(r.value or b"") for r in records]
    assert [int(e.payload["n"]) for e in envelopes] == [0, 1, 2, 3, 4]


async def test_a_pass_fills_batches_per_partition_in_order(
    harness: Harness, kafka_bootstrap: str
) -> None:
    """The relay builds record batches itself: rows beyond one batch start another, a
    row larger than a batch gets one of its own, and each key's rows arrive in outbox
    order, on one partition."""
    kafka = harness.kafka.model_copy(update={"max_batch_size": 16_384})
    big = b"x" * 20_000  # larger than a whole batch of 16 KiB
    sent: list[tuple[bytes, bytes]] = []
    async with harness.engine.begin() as conn:
        outbox = Outbox(conn, producer="test")
        for n in range(120):
            key = f"order-{n % 3}".encode()
            value = big + str(n).encode() if n % 40 == 7 else f"small-{n}".encode() * 40
            sent.append((key, value))
            await outbox.put_record(OutgoingRecord(harness.topic, key, value, []))
    producer = await start_producer(kafka)
    relay = OutboxRelay(harness.engine, producer, kafka, schema=harness.db.schema)
    try:
        assert await relay.publish_pending() == 120
    finally:
        await relay.release_slots()
        await stop_producer(producer, kafka)
    records = await read_all(kafka_bootstrap, harness.topic, expect=120)
    received = [(r.key or b"", r.value or b"") for r in records]
    assert sorted(received) == sorted(sent)
    for key in {k for k, _ in sent}:
        assert [v for k, v in received if k == key] == [v for k, v in sent if k == key]
    by_key = {r.key: {r.partition} for r in records}
    for r in records:
        by_key[r.key].add(r.partition)
    assert all(len(parts) == 1 for parts in by_key.values())


async def test_the_relay_plans_without_sequential_scans_and_gives_its_session_back_clean(
    harness: Harness,
) -> None:
    """The relay's session avoids sequential scans of the churning pending table; the
    hot pool does not reset sessions, so the relay resets the setting on release."""
    producer = await start_producer(harness.kafka)
    relay = OutboxRelay(harness.engine, producer, harness.kafka, schema=harness.db.schema)
    try:
        await harness.put("order-a", 0)
        assert await relay.publish_pending() == 1
        assert relay._conn is not None
        assert await relay._conn.fetchval("SHOW enable_seqscan") == "off"
    finally:
        await relay.release_slots()
        await stop_producer(producer, harness.kafka)
    pool = await hot_pool(harness.engine).pool()
    # Every idle connection at once (the pool hands the last one released out first).
    idle = [await pool.acquire() for _ in range(pool.get_idle_size())]
    try:
        assert idle
        assert [await c.fetchval("SHOW enable_seqscan") for c in idle] == ["on"] * len(idle)
    finally:
        for c in idle:
            await pool.release(c)
