"""The offset of a record is committed only after its transaction committed."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.records_to_delete import RecordsToDelete
from structlog.testing import capture_logs

from orderflow_messaging import metrics
from orderflow_messaging.consumer import Batch, Incoming, MessageConsumer
from orderflow_messaging.envelope import header_value
from orderflow_messaging.kafka import client_options
from orderflow_messaging.settings import ConsumerSettings

from .conftest import (
    Harness,
    Pinged,
    eventually,
    make_registry,
    read_all,
    running_consumer,
    running_relay,
)


async def _committed(bootstrap: str, group: str, topic: str) -> dict[int, int | None]:
    consumer = AIOKafkaConsumer(**client_options(bootstrap), group_id=group)
    await consumer.start()
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        if not partitions:
            await consumer._client.force_metadata_update()
            partitions = consumer.partitions_for_topic(topic) or set()
        return {p: await consumer.committed(TopicPartition(topic, p)) for p in partitions}
    finally:
        await consumer.stop()


async def test_failing_handler_offset_not_committed_and_handled_after_restart(
    harness: Harness, kafka_bootstrap: str
) -> None:
    await harness.put("order-1", 7)
    failing_started = asyncio.Event()

    consumer = MessageConsumer(
        name="effects",
        producer="test",
        registry=make_registry(),
        engine=harness.engine,
        # Many slow attempts: the process "dies" (stops) while the record is still failing.
        settings=ConsumerSettings(max_attempts=1000, backoff_initial_s=0.5, backoff_max_s=0.5),
    )

    @consumer.handles(Pinged)
    async def always_fails(batch: Batch, items: Sequence[Incoming[Pinged]]) -> None:
        failing_started.set()
        raise RuntimeError("handler is broken in this release")

    async with running_relay(harness):
        async with running_consumer(harness, consumer, group_id="offsets"):
            await asyncio.wait_for(failing_started.wait(), 30)
            await asyncio.sleep(1.0)
        committed = await _committed(kafka_bootstrap, "offsets", harness.topic)
        assert all(offset in (None, 0) for offset in committed.values()), committed
        assert await harness.effects() == []

        # The fixed release starts: the record is delivered again and handled once.
        async with running_consumer(harness, harness.consumer(), group_id="offsets"):

            async def handled() -> bool:
                return await harness.effects() == [("order-1", 7)]

            await eventually(handled)

    committed = await _committed(kafka_bootstrap, "offsets", harness.topic)
    assert sum(offset or 0 for offset in committed.values()) == 1


async def test_transient_failures_are_retried_then_succeed(harness: Harness) -> None:
    harness.fail_times[3] = 2  # fails twice, max_attempts is 3
    await harness.put("order-3", 3)
    async with (
        running_relay(harness),
        running_consumer(harness, harness.consumer(), group_id="transient"),
    ):

        async def handled() -> bool:
            return await harness.effects() == [("order-3", 3)]

        await eventually(handled)
    assert await harness.scalar("SELECT count(*) FROM delivery_attempts") == 0


async def test_attempts_survive_a_restart(harness: Harness, kafka_bootstrap: str) -> None:
    """A failing message's attempt count is durable: a restarted consumer continues it
    (and dead-letters at max_attempts overall) instead of starting again at 0."""
    await harness.put("order-9", 9)
    calls: list[int] = []

    def failing(name: str) -> MessageConsumer:
        consumer = MessageConsumer(
            name="effects",
            producer="test",
            registry=make_registry(),
            engine=harness.engine,
            settings=ConsumerSettings(max_attempts=4, backoff_initial_s=0.3, backoff_max_s=0.3),
        )

        @consumer.handles(Pinged)
        async def always_fails(batch: Batch, items: Sequence[Incoming[Pinged]]) -> None:
            calls.append(1)
            raise RuntimeError(f"still broken ({name})")

        return consumer

    async def attempts() -> int:
        return int(await harness.scalar("SELECT coalesce(max(attempts), 0) FROM delivery_attempts"))

    async with running_relay(harness):
        async with running_consumer(harness, failing("first"), group_id="durable-attempts"):

            async def two_attempts() -> bool:
                return await attempts() >= 2

            await eventually(two_attempts)
        before_restart = await attempts()
        assert before_restart < 4
        first_run_calls = len(calls)

        async with running_consumer(harness, failing("second"), group_id="durable-attempts"):
            dead = await read_all(kafka_bootstrap, f"{harness.topic}.dlq", expect=1)

    assert len(dead) == 1
    assert header_value(dead[0].headers, "dlq.attempts") == b"4"
    # The batch try (not counted) plus the attempts left after the restart, not 4 more.
    assert len(calls) - first_run_calls <= 1 + (4 - before_restart)
    assert await harness.effects() == []


async def test_an_offset_reset_is_reported_with_the_range_it_skipped(
    harness: Harness, kafka_bootstrap: str
) -> None:
    """Records deleted below a group's committed offset (retention, or an operator's
    delete-records) are skipped when the consumer resets to the earliest offset left:
    logged at ERROR with the range and counted as it happens."""
    topic, group = harness.topic, "resets"
    for n in range(3):
        await harness.put("order-1", n)  # one key: one partition
    async with running_relay(harness):
        async with running_consumer(harness, harness.consumer(), group_id=group):

            async def first_three() -> bool:
                return len(await harness.effects()) == 3

            await eventually(first_three)
        for n in range(3, 10):
            await harness.put("order-1", n)
        records = await read_all(kafka_bootstrap, topic, expect=10)
        [number] = {record.partition for record in records}
        assert sorted(record.offset for record in records) == list(range(10))
        partition = TopicPartition(topic, number)
        assert (await _committed(kafka_bootstrap, group, topic))[number] == 3

        admin = AIOKafkaAdminClient(**client_options(kafka_bootstrap))
        await admin.start()
        try:
            await admin.delete_records({partition: RecordsToDelete(before_offset=7)})
        finally:
            await admin.close()

        skipped_before = metrics.RECORDS_SKIPPED.labels("effects", topic)._value.get()
        with capture_logs() as logs:
            async with running_consumer(harness, harness.consumer(), group_id=group):

                async def the_rest() -> bool:
                    return len(await harness.effects()) == 6

                await eventually(the_rest)

    assert [n for _, n in await harness.effects()] == [0, 1, 2, 7, 8, 9]
    assert metrics.RECORDS_SKIPPED.labels("effects", topic)._value.get() - skipped_before == 4
    [event] = [e for e in logs if e["event"] == "offset_reset_records_skipped"]
    assert event["log_level"] == "error"
    assert (event["partition"], event["first_skipped"], event["last_skipped"]) == (
        partition.partition,
        3,
        6,
    )
