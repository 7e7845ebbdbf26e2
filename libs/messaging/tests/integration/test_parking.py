"""Dead letters are sequenced per key: later messages of a key wait behind its dead
letter, and a redrive replays them in order, once."""

from __future__ import annotations

from aiokafka import AIOKafkaProducer

from orderflow_messaging.envelope import header_value
from orderflow_messaging.kafka import client_options

from .conftest import Harness, eventually, read_all, running_consumer, running_relay


async def _redrive(bootstrap: str, dead: list, topic: str) -> None:  # type: ignore[type-arg]
    """What `orderflow dlq redrive` does: original key/value/headers, back to the source."""
    producer = AIOKafkaProducer(**client_options(bootstrap), acks="all", enable_idempotence=True)
    await producer.start()
    try:
        for record in dead:
            headers = [(k, v) for k, v in record.headers if not k.startswith("dlq.")]
            headers.append(
                ("redriven_from", f"{record.topic}:{record.partition}:{record.offset}".encode())
            )
            await producer.send_and_wait(topic, record.value, key=record.key, headers=headers)
    finally:
        await producer.stop()


async def test_messages_behind_a_dead_letter_are_parked_and_redriven_in_order(
    harness: Harness, kafka_bootstrap: str
) -> None:
    harness.fail_times[1] = 1000  # the handler cannot apply n=1 (until "fixed" below)
    for n in (1, 2, 3):
        await harness.put("order-k", n)
    await harness.put("order-other", 10)
    dlq = f"{harness.topic}.dlq"

    async with (
        running_relay(harness),
        running_consumer(harness, harness.consumer(), group_id="park"),
    ):

        async def three_dead() -> bool:
            return len(await read_all(kafka_bootstrap, dlq, expect=3, timeout=1)) == 3

        await eventually(three_dead)
        assert await harness.effects() == [("order-other", 10)]
        dead = await read_all(kafka_bootstrap, dlq, expect=3)
        reasons = [header_value(r.headers, "dlq.reason") for r in dead]
        assert reasons == [b"RETRIES_EXHAUSTED", b"PARKED", b"PARKED"]
        assert await harness.scalar("SELECT count(*) FROM parked_keys") == 1

        harness.fail_times[1] = 0  # the fix is deployed; redrive, twice
        await _redrive(kafka_bootstrap, dead, harness.topic)

        async def all_applied() -> bool:
            return len(await harness.effects()) == 4

        await eventually(all_applied)
        await _redrive(kafka_bootstrap, dead, harness.topic)

        async def duplicates_counted() -> bool:
            return await harness.scalar("SELECT sum(duplicates) FROM inbox") == 3

        await eventually(duplicates_counted)

    effects = await harness.effects()
    assert effects == [("order-other", 10), ("order-k", 1), ("order-k", 2), ("order-k", 3)]
    assert await harness.scalar("SELECT count(*) FROM parked_keys") == 0
