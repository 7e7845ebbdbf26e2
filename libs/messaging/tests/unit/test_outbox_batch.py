"""A batch outbox queues its rows; ``flush`` inserts them with one statement, in the
order they were put, and empties the queue."""

from __future__ import annotations

from typing import Any

from orderflow_messaging.header_codec import unpack_headers
from orderflow_messaging.outbox import BatchOutbox, Outbox, OutgoingRecord
from orderflow_messaging.registry import Message


class Pinged(Message):
    TYPE = "Pinged"
    n: int


class RecordingConnection:
    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    async def execute(self, statement: Any, *args: Any) -> None:
        self.calls.append((statement, *args))


async def test_batch_rows_are_inserted_once_in_put_order() -> None:
    conn = RecordingConnection()
    outbox = BatchOutbox(producer="test")
    cause = outbox.put("c", Pinged(n=0), correlation_id="order-0")
    a = outbox.put("t", Pinged(n=1), correlation_id="order-1", causation=cause)
    b = outbox.put("t", Pinged(n=2), correlation_id="order-1", key="sku-1")
    outbox.put_record(OutgoingRecord("u.dlq", b"k", b"v", [("h", b"\xff")]))
    assert conn.calls == []
    assert a.causation_id == cause.message_id
    assert b.causation_id is None

    assert await outbox.flush(conn) == 4  # type: ignore[arg-type]
    assert len(conn.calls) == 1
    _, ids, topics, keys, values, headers, slots, types, correlations = conn.calls[0]
    assert ids[:3] == [cause.message_id, a.message_id, b.message_id]
    assert topics == ["c", "t", "t", "u.dlq"]
    assert keys == [b"order-0", b"order-1", b"sku-1", b"k"]
    assert values[1] == a.to_bytes()
    assert unpack_headers(headers[3]) == [("h", b"\xff")]
    assert types == ["Pinged", "Pinged", "Pinged", None]
    assert correlations == ["order-0", "order-1", "order-1", None]
    assert all(0 <= slot < 16 for slot in slots)
    assert len(outbox) == 0

    assert await outbox.flush(conn) == 0  # type: ignore[arg-type]
    assert len(conn.calls) == 1  # nothing queued: no statement


async def test_the_sqlalchemy_outbox_inserts_at_once() -> None:
    conn = RecordingConnection()
    outbox = Outbox(conn, producer="test")  # type: ignore[arg-type]
    await outbox.put("t", Pinged(n=1), correlation_id="order-1")
    assert len(conn.calls) == 1
