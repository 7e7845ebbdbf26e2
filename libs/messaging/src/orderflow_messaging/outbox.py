"""Writing messages into the transactional outbox (the only way application code sends)."""

from __future__ import annotations

import base64
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from orderflow_messaging.clock import Clock, IdFactory, utc_now
from orderflow_messaging.envelope import Envelope, Headers
from orderflow_messaging.registry import Message
from orderflow_messaging.tables import OUTBOX_SLOTS, outbox


def slot_for(key: bytes | None) -> int:
    """Stable across processes and Python versions (unlike ``hash``)."""
    return zlib.crc32(key or b"") % OUTBOX_SLOTS


def encode_headers(headers: Sequence[tuple[str, bytes]]) -> list[list[str]]:
    return [[name, base64.b64encode(value or b"").decode()] for name, value in headers]


def decode_headers(stored: Sequence[Sequence[str]]) -> Headers:
    return [(name, base64.b64decode(value)) for name, value in stored]


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

    With ``deferred`` (a list shared by the outboxes of one transaction), ``put`` only
    queues the row; the owner of the transaction inserts all of them, in order, with
    ``flush_deferred`` before it commits: one statement per transaction instead of one
    per message (what the consumer does for a batch).
    """

    def __init__(
        self,
        connection: AsyncConnection,
        *,
        producer: str,
        clock: Clock = utc_now,
        new_id: IdFactory = uuid4,
        causation: Envelope | None = None,
        deferred: list[dict[str, Any]] | None = None,
    ) -> None:
        self._connection = connection
        self._producer = producer
        self._clock = clock
        self._new_id = new_id
        self._causation = causation
        self._deferred = deferred
        self.envelopes: list[Envelope] = []

    def envelope(self, message: Message, *, correlation_id: str) -> Envelope:
        return Envelope(
            message_id=self._new_id(),
            type=message.TYPE,
            version=message.VERSION,
            occurred_at=self._clock(),
            producer=self._producer,
            correlation_id=correlation_id,
            causation_id=self._causation.message_id if self._causation else None,
            payload=message.model_dump(mode="json"),
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
        row = _row(
            envelope.message_id,
            OutgoingRecord(
                topic=topic,
                key=raw_key,
                value=envelope.to_bytes(),
                headers=envelope.kafka_headers(),
                message_type=envelope.type,
                correlation_id=envelope.correlation_id,
            ),
        )
        if self._deferred is not None:
            self._deferred.append(row)
        else:
            await self._connection.execute(insert(outbox), [row])
        self.envelopes.append(envelope)

    async def put_record(self, record: OutgoingRecord, *, message_id: UUID | None = None) -> None:
        await self._connection.execute(insert(outbox), [_row(message_id or self._new_id(), record)])


async def flush_deferred(connection: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    """Insert the rows deferred outboxes queued, in queue order, in one statement (ids
    follow that order, and so does publishing per key); the list is emptied."""
    if rows:
        await connection.execute(insert(outbox), rows)
        rows.clear()


def _row(message_id: UUID, record: OutgoingRecord) -> dict[str, Any]:
    return {
        "message_id": message_id,
        "topic": record.topic,
        "key": record.key,
        "value": record.value,
        "headers": encode_headers(record.headers),
        "slot": slot_for(record.key),
        "message_type": record.message_type,
        "correlation_id": record.correlation_id,
    }
