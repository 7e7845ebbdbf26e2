"""Two relays at once: every row published, none lost, per-key order kept."""

from __future__ import annotations

import asyncio

from orderflow_messaging.envelope import Envelope

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
