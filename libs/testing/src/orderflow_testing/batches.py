"""Running a service's batch handler the way the consumer does, without Kafka: in one
asyncpg transaction, with the batch outbox flushed before the commit; and records shaped
as Kafka delivers them, to feed a real ``MessageConsumer.process`` without a broker."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from orderflow_messaging.clock import Clock, utc_now
from orderflow_messaging.consumer import Batch, Incoming
from orderflow_messaging.db import hot_pool
from orderflow_messaging.envelope import Envelope, SourceCoordinates
from orderflow_messaging.outbox import BatchOutbox, new_envelope
from orderflow_messaging.registry import Message

Handler = Callable[[Batch, Sequence[Incoming[Any]]], Awaitable[None]]


def incoming(message: Message, *, correlation_id: str | None = None, n: int = 0) -> Incoming[Any]:
    """``message`` as the consumer hands it over (a fresh envelope, made-up coordinates)."""
    envelope = new_envelope(
        message,
        message_id=uuid.uuid4(),
        at=utc_now(),
        producer="test",
        correlation_id=correlation_id or str(getattr(message, "order_id", "test")),
        causation=None,
    )
    return Incoming(message, envelope, SourceCoordinates("test", 0, n))


async def run_batch(
    engine: AsyncEngine,
    handler: Handler,
    messages: Sequence[Message],
    *,
    clock: Clock = utc_now,
    producer: str = "test",
) -> BatchOutbox:
    """One transaction: the handler over ``messages`` in order, then the outbox insert.
    Returns the (flushed) outbox; its records are also in the outbox table."""
    pool = await hot_pool(engine).pool()
    outbox = BatchOutbox(producer=producer, clock=clock)
    items = [incoming(m, n=n) for n, m in enumerate(messages)]
    async with pool.acquire() as conn, conn.transaction():
        await handler(Batch(conn, outbox, clock), items)
        await outbox.flush(conn)
    return outbox


@dataclass
class DeliveredRecord:
    """A consumer record as aiokafka hands it over (what ``consumer.Record`` reads)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Sequence[tuple[str, bytes]] = ()


def delivered(
    topic: str, offset: int, envelope: Envelope, *, partition: int = 0
) -> DeliveredRecord:
    """``envelope`` at ``offset`` of ``topic``, keyed by its correlation id."""
    return DeliveredRecord(
        topic, partition, offset, envelope.correlation_id.encode(), envelope.to_bytes(),
        envelope.kafka_headers(),
    )  # fmt: skip
