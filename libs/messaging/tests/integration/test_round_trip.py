"""Outbox -> relay -> Kafka -> consumer -> inbox, on the real broker and database."""

from __future__ import annotations

import gc
import uuid

from faststream.kafka.message import KafkaAckableMessage
from prometheus_client import REGISTRY

from orderflow_messaging.envelope import Envelope, header_value

from .conftest import Harness, eventually, read_all, running_consumer, running_relay


def batch_metrics(consumer: str) -> tuple[float, float, float]:
    """(polls handled, their records, their seconds) so far, from the /metrics registry."""

    def value(name: str) -> float:
        return REGISTRY.get_sample_value(name, {"consumer": consumer}) or 0.0

    return (
        value("orderflow_consumer_batch_records_count"),
        value("orderflow_consumer_batch_records_sum"),
        value("orderflow_consumer_batch_seconds_sum"),
    )


async def test_outbox_to_inbox_round_trip(harness: Harness, kafka_bootstrap: str) -> None:
    ids = [await harness.put(f"order-{i % 4}", i) for i in range(12)]
    polls, records_before, seconds = batch_metrics("effects")

    async with running_relay(harness), running_consumer(harness, harness.consumer(), group_id="rt"):

        async def all_effects() -> bool:
            return len(await harness.effects()) == 12

        await eventually(all_effects)

    assert sorted(n for _, n in await harness.effects()) == list(range(12))
    # Every handled poll is observed: its size and its time.
    polls_after, records_after, seconds_after = batch_metrics("effects")
    assert records_after - records_before == 12
    assert 1 <= polls_after - polls <= 12
    assert seconds_after > seconds
    # An optimistic consumer's handler records ``handled`` only in a transaction block:
    # every batch here committed as one statement, none had to run again.
    assert harness.handled == ([] if harness.optimistic else ids_in(harness.handled, ids))
    assert await harness.scalar("SELECT count(*) FROM outbox_pending") == 0
    assert await harness.scalar("SELECT count(*) FROM inbox WHERE status = 'processed'") == 12
    records = await read_all(kafka_bootstrap, harness.topic, expect=12)
    assert len(records) == 12
    first = records[0]
    envelope = Envelope.model_validate_json(first.value or b"")
    assert envelope.message_id in ids
    assert first.key == envelope.correlation_id.encode()
    assert header_value(first.headers, "type") == b"Pinged"
    assert header_value(first.headers, "version") == b"1"
    assert header_value(first.headers, "correlation_id") == envelope.correlation_id.encode()


def ids_in(handled: list[uuid.UUID], ids: list[uuid.UUID]) -> list[uuid.UUID]:
    """``handled`` when it holds each of ``ids`` once (in any order)."""
    assert sorted(handled) == sorted(ids)
    return handled


async def test_a_handled_poll_is_freed_without_the_garbage_collector(
    harness: Harness,
) -> None:
    """faststream caches a poll's decoded body in its message: with our pass-through
    decoder, the message itself, a cycle that only a collection frees, with every
    record of the poll. The subscriber breaks it: with the collector off during the
    run, a collection afterwards finds no poll among the unreachable objects
    (docs/performance.md: collections cost the coordinator ~10% of its CPU)."""
    gc.collect()
    gc.disable()
    try:
        async with (
            running_relay(harness),
            running_consumer(harness, harness.consumer(), group_id="gc"),
        ):
            for wave in range(8):  # a poll at least per wave
                for i in range(3):
                    await harness.put(f"order-{i}", 3 * wave + i)

                async def wave_done(expected: int = 3 * (wave + 1)) -> bool:
                    return len(await harness.effects()) == expected

                await eventually(wave_done)
        gc.set_debug(gc.DEBUG_SAVEALL)
        gc.collect()
        cyclic = [o for o in gc.garbage if isinstance(o, KafkaAckableMessage)]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    assert cyclic == []
