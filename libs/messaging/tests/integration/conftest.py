"""Shared pieces for the messaging integration tests (real Kafka, real PostgreSQL)."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from orderflow_messaging.consumer import Batch, Incoming, MessageConsumer
from orderflow_messaging.kafka import client_options, start_producer, stop_producer
from orderflow_messaging.offsets import OffsetCommitter
from orderflow_messaging.outbox import Outbox
from orderflow_messaging.registry import Message, MessageRegistry
from orderflow_messaging.relay import OutboxRelay
from orderflow_messaging.settings import ConsumerSettings, KafkaSettings
from orderflow_messaging.subscriber import create_broker, subscribe
from orderflow_testing.plugin import SchemaDatabase


class Pinged(Message):
    TYPE = "Pinged"
    VERSION = 1
    order_id: str
    n: int


def make_registry() -> MessageRegistry:
    registry = MessageRegistry()
    registry.register(Pinged)
    return registry


@dataclass
class Harness:
    """A tiny service: an effects table, an outbox, a relay and a consumer."""

    db: SchemaDatabase
    kafka: KafkaSettings
    topic: str
    # Whether its consumer is optimistic (a batch's writes as one statement first).
    optimistic: bool = False
    # Whether it pipelines its optimistic batches (the next decided while one commits).
    pipelined: bool = False
    handled: list[uuid.UUID] = field(default_factory=list)
    fail_times: dict[int, int] = field(default_factory=dict)

    @property
    def engine(self) -> AsyncEngine:
        return self.db.engine

    async def put(self, order_id: str, n: int) -> uuid.UUID:
        async with self.engine.begin() as conn:
            outbox = Outbox(conn, producer="test")
            envelope = await outbox.put(
                self.topic, Pinged(order_id=order_id, n=n), correlation_id=order_id
            )
        return envelope.message_id

    def consumer(self, name: str = "effects") -> MessageConsumer:
        consumer = MessageConsumer(
            name=name,
            producer="test",
            registry=make_registry(),
            engine=self.engine,
            settings=ConsumerSettings(max_attempts=3, backoff_initial_s=0.05, backoff_max_s=0.2),
            optimistic=self.optimistic,
            pipelined=self.pipelined,
        )

        @consumer.handles(Pinged)
        async def on_pinged(batch: Batch, items: Sequence[Incoming[Pinged]]) -> None:
            for item in items:
                remaining = self.fail_times.get(item.message.n, 0)
                if remaining:
                    self.fail_times[item.message.n] = remaining - 1
                    raise RuntimeError(f"injected failure for n={item.message.n}")
            if batch.plan is None:
                await batch.conn.executemany(
                    "INSERT INTO effects (message_id, order_id, n) VALUES ($1, $2, $3)",
                    [(i.envelope.message_id, i.message.order_id, i.message.n) for i in items],
                )
                self.handled.extend(item.envelope.message_id for item in items)
                return
            # The effects as a part of the batch's one statement (``handled`` is not
            # recorded: the plan may still be rolled back and the batch run again).
            batch.plan.add(
                "INSERT INTO effects (message_id, order_id, n) "
                "SELECT * FROM unnest($1::uuid[], $2::text[], $3::int[]) ON CONFLICT DO NOTHING",
                [i.envelope.message_id for i in items],
                [i.message.order_id for i in items], [i.message.n for i in items],
                expect=len(items),
            )  # fmt: skip

        return consumer

    async def effects(self) -> list[tuple[str, int]]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(text("SELECT order_id, n FROM effects ORDER BY id"))
            return [(row.order_id, row.n) for row in rows]

    async def scalar(self, sql: str) -> Any:
        async with self.engine.connect() as conn:
            return await conn.scalar(text(sql))


@pytest.fixture(params=["in-transaction", "optimistic", "pipelined"])
async def harness(
    request: pytest.FixtureRequest,
    messaging_db: SchemaDatabase,
    kafka_bootstrap: str,
    new_topic: Callable[..., Any],
) -> Harness:
    async with messaging_db.engine.begin() as conn:
        await conn.execute(
            text(
                "CREATE TABLE effects (id bigserial PRIMARY KEY, message_id uuid UNIQUE, "
                "order_id text NOT NULL, n int NOT NULL)"
            )
        )
    topic = await new_topic("pinged", partitions=3)
    return Harness(
        messaging_db,
        KafkaSettings(bootstrap_servers=kafka_bootstrap),
        topic,
        optimistic=request.param != "in-transaction",
        pipelined=request.param == "pipelined",
    )


@contextlib.asynccontextmanager
async def running_relay(h: Harness, **kwargs: Any) -> AsyncIterator[OutboxRelay]:
    producer = await start_producer(h.kafka)
    relay = OutboxRelay(h.engine, producer, h.kafka, schema=h.db.schema, **kwargs)
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    try:
        yield relay
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
        await stop_producer(producer, h.kafka)


@contextlib.asynccontextmanager
async def running_consumer(
    h: Harness,
    consumer: MessageConsumer,
    *,
    group_id: str,
    topic: str | None = None,
    settings: ConsumerSettings | None = None,
) -> AsyncIterator[OffsetCommitter]:
    broker = create_broker(h.kafka)
    offsets = subscribe(
        broker,
        consumer,
        topic or h.topic,
        group_id=group_id,
        settings=settings or ConsumerSettings(max_records=50, batch_timeout_ms=20),
    )
    await broker.start()
    try:
        yield offsets
    finally:
        await offsets.close()
        await asyncio.wait_for(broker.stop(), 20)


async def eventually(
    check: Callable[[], Awaitable[bool]], *, timeout: float = 30.0, interval: float = 0.1
) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if await check():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(interval)


async def read_all(
    bootstrap: str, topic: str, *, expect: int, timeout: float = 30.0
) -> list[ConsumerRecord[bytes, bytes]]:
    """Read ``topic`` from the beginning until ``expect`` records arrived (or time ran out)."""
    consumer = AIOKafkaConsumer(
        topic,
        **client_options(bootstrap),
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
    )
    await consumer.start()
    records: list[ConsumerRecord[bytes, bytes]] = []
    deadline = time.monotonic() + timeout
    try:
        while len(records) < expect and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=200)
            for part in batch.values():
                records.extend(part)
    finally:
        await consumer.stop()
    return records


async def produce_raw(
    bootstrap: str,
    topic: str,
    records: list[tuple[bytes | None, bytes | None, list[tuple[str, bytes]]]],
) -> None:
    """Upstream-style raw records (poison included), sent in order on their keys."""
    producer = AIOKafkaProducer(
        **client_options(bootstrap),
        acks="all",
        enable_idempotence=True,
        max_request_size=2_000_000,
    )
    await producer.start()
    try:
        for key, value, headers in records:
            await producer.send_and_wait(topic, value=value, key=key, headers=headers)
    finally:
        await producer.stop()
