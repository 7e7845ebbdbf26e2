"""A deferred outbox queues its rows; the transaction's owner inserts them in one
statement, in the order they were put."""

from __future__ import annotations

from typing import Any

from orderflow_messaging.outbox import Outbox, flush_deferred
from orderflow_messaging.registry import Message


class Pinged(Message):
    TYPE = "Pinged"
    n: int


class RecordingConnection:
    def __init__(self) -> None:
        self.calls: list[tuple[Any, list[dict[str, Any]]]] = []

    async def execute(self, statement: Any, rows: list[dict[str, Any]]) -> None:
        self.calls.append((statement, list(rows)))


async def test_deferred_rows_are_inserted_once_in_put_order() -> None:
    conn = RecordingConnection()
    queued: list[dict[str, Any]] = []
    first = Outbox(conn, producer="test", deferred=queued)  # type: ignore[arg-type]
    second = Outbox(conn, producer="test", deferred=queued)  # type: ignore[arg-type]
    a = await first.put("t", Pinged(n=1), correlation_id="order-1")
    b = await second.put("t", Pinged(n=2), correlation_id="order-1")
    c = await first.put("u", Pinged(n=3), correlation_id="order-2")
    assert conn.calls == []
    assert [e.message_id for e in first.envelopes] == [a.message_id, c.message_id]

    await flush_deferred(conn, queued)  # type: ignore[arg-type]
    assert len(conn.calls) == 1
    rows = conn.calls[0][1]
    assert [r["message_id"] for r in rows] == [a.message_id, b.message_id, c.message_id]
    assert [r["topic"] for r in rows] == ["t", "t", "u"]
    assert queued == []

    await flush_deferred(conn, queued)  # type: ignore[arg-type]
    assert len(conn.calls) == 1  # nothing queued: no statement


async def test_an_outbox_without_deferral_inserts_at_once() -> None:
    conn = RecordingConnection()
    outbox = Outbox(conn, producer="test")  # type: ignore[arg-type]
    await outbox.put("t", Pinged(n=1), correlation_id="order-1")
    assert len(conn.calls) == 1
