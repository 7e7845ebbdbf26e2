"""Writing messages into the transactional outbox (the only way application code sends)."""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from opentelemetry.context import Context
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from orderflow_messaging import tracing
from orderflow_messaging.clock import Clock, IdFactory, new_message_id, utc_now
from orderflow_messaging.db import Connection
from orderflow_messaging.envelope import Envelope, Headers
from orderflow_messaging.header_codec import pack_headers
from orderflow_messaging.registry import Message
from orderflow_messaging.tables import OUTBOX_SLOTS, outbox
from orderflow_messaging.write_plan import WritePlan


def slot_for(key: bytes | None) -> int:
    """Stable across processes and Python versions (unlike ``hash``)."""
    return zlib.crc32(key or b"") % OUTBOX_SLOTS


@dataclass(frozen=True, slots=True)
class OutgoingRecord:
    """A Kafka record ready for the outbox: used for dead letters and raw forwards."""

    topic: str
    key: bytes | None
    value: bytes | None
    headers: Headers
    message_type: str | None = None
    correlation_id: str | None = None


class Outbox:
    """Adds messages to the outbox inside the caller's open transaction.

    Nothing leaves the process here: the relay publishes rows after the transaction
    commits, so a rolled-back state change never sends anything.

    This one writes through SQLAlchemy (HTTP routes, timers, admin actions); a consumer
    batch uses ``BatchOutbox``, which inserts all of a transaction's rows at once.
    """

    def __init__(
        self,
        connection: AsyncConnection,
        *,
        producer: str,
        clock: Clock = utc_now,
        new_id: IdFactory = new_message_id,
        causation: Envelope | None = None,
    ) -> None:
        self._connection = connection
        self._producer = producer
        self._clock = clock
        self._new_id = new_id
        self._causation = causation
        self.envelopes: list[Envelope] = []

    def envelope(self, message: Message, *, correlation_id: str) -> Envelope:
        return new_envelope(
            message,
            message_id=self._new_id(),
            at=self._clock(),
            producer=self._producer,
            correlation_id=correlation_id,
            causation=self._causation,
        )

    async def put(
        self, topic: str, message: Message, *, correlation_id: str, key: str | None = None
    ) -> Envelope:
        """Queue ``message`` for ``topic``; the Kafka key defaults to the correlation id."""
        envelope = self.envelope(message, correlation_id=correlation_id)
        await self.put_envelope(topic, envelope, key=key)
        return envelope

    async def put_envelope(self, topic: str, envelope: Envelope, *, key: str | None = None) -> None:
        raw_key = (key if key is not None else envelope.correlation_id).encode()
        record = envelope_record(topic, envelope, raw_key)
        record = tracing.traced(record, causation=self._causation)
        await self._connection.execute(insert(outbox), [_row(envelope.message_id, record)])
        self.envelopes.append(envelope)

    async def put_record(self, record: OutgoingRecord, *, message_id: UUID | None = None) -> None:
        await self._connection.execute(insert(outbox), [_row(message_id or self._new_id(), record)])


def _row(message_id: UUID, record: OutgoingRecord) -> dict[str, Any]:
    return {
        "message_id": message_id,
        "topic": record.topic,
        "key": record.key,
        "value": record.value,
        "header_bytes": pack_headers(record.headers),
        "slot": slot_for(record.key),
        "message_type": record.message_type,
        "correlation_id": record.correlation_id,
    }


def new_envelope(
    message: Message,
    *,
    message_id: UUID,
    at: datetime,
    producer: str,
    correlation_id: str,
    causation: Envelope | None,
) -> Envelope:
    return Envelope(
        message_id=message_id,
        type=message.TYPE,
        version=message.VERSION,
        occurred_at=at,
        producer=producer,
        correlation_id=correlation_id,
        causation_id=causation.message_id if causation else None,
        payload=message.model_dump(mode="json"),
    )


def envelope_record(topic: str, envelope: Envelope, key: bytes) -> OutgoingRecord:
    return OutgoingRecord(
        topic=topic,
        key=key,
        value=envelope.to_bytes(),
        headers=envelope.kafka_headers(),
        message_type=envelope.type,
        correlation_id=envelope.correlation_id,
    )


_INSERT_MANY = """
    INSERT INTO outbox (message_id, topic, key, value, header_bytes, slot, message_type,
                        correlation_id)
    SELECT u.message_id, u.topic, u.key, u.value, u.header_bytes, u.slot, u.message_type,
           u.correlation_id
    FROM unnest($1::uuid[], $2::text[], $3::bytea[], $4::bytea[], $5::bytea[], $6::int2[],
                $7::text[], $8::text[])
         WITH ORDINALITY
         AS u(message_id, topic, key, value, header_bytes, slot, message_type, correlation_id,
              n)
    ORDER BY u.n
"""


class BatchOutbox:
    """The outbox of one consumer transaction (asyncpg): ``put`` only queues; ``flush``
    inserts every queued row, in queue order, with one statement before the commit.
    Ids follow that order, and so does publishing per key."""

    def __init__(
        self, *, producer: str, clock: Clock = utc_now, new_id: IdFactory = new_message_id
    ) -> None:
        self._producer = producer
        self._clock = clock
        self._new_id = new_id
        self._rows: list[tuple[UUID, OutgoingRecord]] = []

    def __len__(self) -> int:
        return len(self._rows)

    def put(
        self,
        topic: str,
        message: Message,
        *,
        correlation_id: str,
        causation: Envelope | None = None,
        key: str | None = None,
        trace_context: Context | None = None,
    ) -> Envelope:
        """Queue ``message`` for ``topic``; the Kafka key defaults to the correlation id;
        ``causation`` is the message that caused this one. The record continues the trace
        of ``trace_context``, else of ``causation``'s span, else the current one
        (``tracing.traced``)."""
        envelope = new_envelope(
            message,
            message_id=self._new_id(),
            at=self._clock(),
            producer=self._producer,
            correlation_id=correlation_id,
            causation=causation,
        )
        raw_key = (key if key is not None else correlation_id).encode()
        record = envelope_record(topic, envelope, raw_key)
        if tracing.enabled():  # the record's headers are its own: extended in place
            record.headers.extend(tracing.trace_headers(causation=causation, context=trace_context))
        self._rows.append((envelope.message_id, record))
        return envelope

    def put_record(self, record: OutgoingRecord, *, message_id: UUID | None = None) -> None:
        self._rows.append((message_id or self._new_id(), record))

    def records(self) -> list[OutgoingRecord]:
        return [record for _, record in self._rows]

    async def flush(self, conn: Connection) -> int:
        """Insert the queued rows (one statement) and empty the queue; how many."""
        rows, self._rows = self._rows, []
        if rows:
            await conn.execute(_INSERT_MANY, *_columns(rows))
        return len(rows)

    def add_to(self, plan: WritePlan) -> int:
        """Queue the insert of every queued row as a part of ``plan`` (an optimistic
        batch) and empty the queue; how many. The part is there even when no row is:
        the plan's text, and so its prepared statement, stays the same."""
        rows, self._rows = self._rows, []
        plan.add(_INSERT_MANY, *_columns(rows))
        return len(rows)


def _columns(rows: Sequence[tuple[UUID, OutgoingRecord]]) -> list[list[Any]]:
    records = [record for _, record in rows]
    return [
        [message_id for message_id, _ in rows],
        [r.topic for r in records],
        [r.key for r in records],
        [r.value for r in records],
        [pack_headers(r.headers) for r in records],
        [slot_for(r.key) for r in records],
        [r.message_type for r in records],
        [r.correlation_id for r in records],
    ]


@dataclass(frozen=True)
class OutboxBacklog:
    """The rows of a schema's outbox not yet published, and the oldest one's age."""

    rows: int
    oldest_s: float


# Cheap while the backlog is small: the pending table holds only the backlog (and the
# dead versions vacuum has not taken yet). Ids follow insertion, so the oldest pending
# row is the one with the smallest id.
_BACKLOG = """
    SELECT count(*) AS pending,
           extract(epoch FROM now() - (
               SELECT created_at FROM outbox WHERE id = (SELECT min(id) FROM outbox_pending)
           )) AS oldest_s
    FROM outbox_pending
"""


async def outbox_backlog(conn: Connection) -> OutboxBacklog:
    """The backlog of the outbox on ``conn``'s search path (0 s when none waits)."""
    row = await conn.fetchrow(_BACKLOG)
    assert row is not None  # an aggregate always returns its row
    return OutboxBacklog(int(row["pending"]), float(row["oldest_s"] or 0.0))
