"""The hold's queues read from the real broker: lag per partition, and whether the
consumer group moved its committed offset since the last sample."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.structs import OffsetAndMetadata

from orderflow_messaging.db import hot_pool
from orderflow_messaging.kafka import client_options
from orderflow_messaging.settings import KafkaSettings
from orderflow_testing.plugin import MigratedSchema, TopicFactory
from orders.adapters.backlog import BacklogSampler, Queue
from orders.bootstrap import MIGRATIONS

pytestmark = pytest.mark.integration


async def commit(bootstrap: str, group: str, tp: TopicPartition, offset: int) -> None:
    consumer = AIOKafkaConsumer(
        **client_options(bootstrap), group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        consumer.assign([tp])
        await consumer.commit({tp: OffsetAndMetadata(offset, "")})
    finally:
        await consumer.stop()


async def test_lag_and_progress_per_partition(
    kafka_bootstrap: str, new_topic: TopicFactory, migrated_schema: MigratedSchema
) -> None:
    db = await migrated_schema(MIGRATIONS)
    commands = await new_topic("commands", partitions=1, with_dlq=False)
    group = f"participant-{uuid.uuid4().hex[:8]}"
    tp = TopicPartition(commands, 0)
    producer = AIOKafkaProducer(**client_options(kafka_bootstrap))
    await producer.start()
    try:
        for _ in range(50):
            await producer.send(commands, b"x", partition=0)
        await producer.flush()
    finally:
        await producer.stop()
    await commit(kafka_bootstrap, group, tp, 10)

    sampler = BacklogSampler(
        KafkaSettings(bootstrap_servers=kafka_bootstrap),
        {"payment": (Queue(group, commands),)},
    )
    pool = await hot_pool(db.engine).pool()
    try:
        async with pool.acquire() as conn:
            [outbox, [first]] = (await sampler.sample(conn))["payment"]
            assert outbox[0].lag == 0  # nothing pending in our outbox
            assert (first.lag, first.idle_s) == (40, 0.0)

            await asyncio.sleep(0.3)
            [_, [still]] = (await sampler.sample(conn))["payment"]
            assert still.lag == 40
            assert still.idle_s >= 0.3  # the group did not move

            await commit(kafka_bootstrap, group, tp, 30)
            [_, [moved]] = (await sampler.sample(conn))["payment"]
            assert (moved.lag, moved.idle_s) == (20, 0.0)

            await conn.execute(
                "INSERT INTO outbox (message_id, topic, key, value, headers, slot) "
                "VALUES ($1, 'payment.commands', 'o-1', 'v', '[]', 0)",
                uuid.uuid4(),
            )
            [pending, _] = (await sampler.sample(conn))["payment"]
            assert pending[0].lag == 1
    finally:
        await sampler.close()
