"""The shipping batch store of the consumer and the timers: PostgreSQL through asyncpg
(one statement per table per batch or tick), and an in-memory fake that passes the same
contract tests."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from orderflow_messaging.db import Connection, rows_affected
from orderflow_messaging.jsontext import json_text
from shipping.adapters.repository import shipment_from_row, shipment_values
from shipping.adapters.tables import MOVING
from shipping.application.batch import ShipmentBook
from shipping.domain.model import Shipment

_SELECT = """
    SELECT order_id, shipment_id, status, address, lines, carrier, tracking_number, reason,
           requested_at, created_at, ready_at, dispatched_at, delivered_at, updated_at,
           traceparent, method_id, tracking, next_step_at
    FROM shipments
"""
_LOAD = _SELECT + "WHERE order_id = ANY($1::text[]) ORDER BY order_id FOR UPDATE"
# The timers' claims. SKIP LOCKED: a row another replica's timer holds is being moved on
# there (waiting would only find it moved); a row such a timer moved meanwhile is
# re-checked against the WHERE and dropped. A tick waits on no lock, so it cannot
# deadlock with the consumer, which waits for a claimed row only until the tick commits.
_CLAIM_READY = (
    _SELECT
    + """WHERE status = 'requested' AND ready_at <= $1
    ORDER BY ready_at, order_id LIMIT $2 FOR UPDATE SKIP LOCKED"""
)
# The most overdue first; the partial index shipments_due serves it.
_CLAIM_DUE = (
    _SELECT
    + f"""WHERE {MOVING} AND next_step_at <= $1
    ORDER BY next_step_at, order_id LIMIT $2 FOR UPDATE SKIP LOCKED"""
)
# address, lines and tracking come as JSON text: asyncpg would bind a list of lists as
# a 2-D array.
_INSERT = """
    INSERT INTO shipments (order_id, shipment_id, status, address, lines, carrier,
                           tracking_number, reason, requested_at, created_at, ready_at,
                           dispatched_at, delivered_at, updated_at, traceparent, method_id,
                           tracking, next_step_at)
    SELECT o, si, st, a::jsonb, l::jsonb, c, tn, r, rq, cr, rd, dp, dl, up, tp, m,
           tk::jsonb, nx
    FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                $7::text[], $8::text[], $9::timestamptz[], $10::timestamptz[],
                $11::timestamptz[], $12::timestamptz[], $13::timestamptz[], $14::timestamptz[],
                $15::text[], $16::text[], $17::text[], $18::timestamptz[])
         AS u(o, si, st, a, l, c, tn, r, rq, cr, rd, dp, dl, up, tp, m, tk, nx)
    ON CONFLICT (order_id) DO NOTHING
"""
# Address, lines, requested_at, traceparent and method_id are set once, by the insert.
_UPDATE = """
    UPDATE shipments s SET status = u.st, shipment_id = u.si, carrier = u.c,
                           tracking_number = u.tn, reason = u.r, created_at = u.cr,
                           ready_at = u.rd, dispatched_at = u.dp, delivered_at = u.dl,
                           updated_at = u.up, tracking = u.tk::jsonb, next_step_at = u.nx
    FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                $7::timestamptz[], $8::timestamptz[], $9::timestamptz[], $10::timestamptz[],
                $11::timestamptz[], $12::text[], $13::timestamptz[])
         AS u(o, st, si, c, tn, r, cr, rd, dp, dl, up, tk, nx)
    WHERE s.order_id = u.o
"""
# The columns after order_id, in the statements' order.
_INSERTED = (
    "shipment_id", "status", "address", "lines", "carrier", "tracking_number", "reason",
    "requested_at", "created_at", "ready_at", "dispatched_at", "delivered_at", "updated_at",
    "traceparent", "method_id", "tracking", "next_step_at",
)  # fmt: skip
_UPDATED = (
    "status", "shipment_id", "carrier", "tracking_number", "reason", "created_at", "ready_at",
    "dispatched_at", "delivered_at", "updated_at", "tracking", "next_step_at",
)  # fmt: skip
_JSONB = ("address", "lines", "tracking")


class ConcurrentShipment(Exception):
    """Another transaction created a shipment for the same order meanwhile (a rebalance):
    the batch fails and is retried, and the retry answers from that shipment."""


def _columns(shipments: Sequence[Shipment], names: Sequence[str]) -> list[list[Any]]:
    """One array per column; JSONB values as JSON text (SQL NULL stays NULL)."""
    rows = [shipment_values(s) for s in shipments]
    return [
        [None if row[n] is None else json_text(row[n]) for row in rows]
        if n in _JSONB
        else [row[n] for row in rows]
        for n in names
    ]


class PgShipmentStore:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def load_for_update(self, order_ids: Sequence[str]) -> ShipmentBook:
        rows = await self._conn.fetch(_LOAD, list(order_ids))
        return ShipmentBook({row["order_id"]: shipment_from_row(row) for row in rows})

    async def claim_ready(self, now: datetime, limit: int) -> list[Shipment]:
        return [shipment_from_row(row) for row in await self._conn.fetch(_CLAIM_READY, now, limit)]

    async def claim_due(self, now: datetime, limit: int) -> list[Shipment]:
        return [shipment_from_row(row) for row in await self._conn.fetch(_CLAIM_DUE, now, limit)]

    async def save(self, book: ShipmentBook) -> None:
        created = [book.shipments[o] for o in sorted(book.created)]
        if created:
            ids = [s.order_id for s in created]
            status = await self._conn.execute(_INSERT, ids, *_columns(created, _INSERTED))
            if rows_affected(status) != len(created):
                raise ConcurrentShipment("a shipment of this batch exists already")
        changed = [book.shipments[o] for o in sorted(book.changed - book.created)]
        if changed:
            ids = [s.order_id for s in changed]
            await self._conn.execute(_UPDATE, ids, *_columns(changed, _UPDATED))


@dataclass
class MemoryShipmentStore:
    """The fake: the same contract, held in a dict (for unit tests of the use cases)."""

    shipments: dict[str, Shipment] = field(default_factory=dict)

    async def load_for_update(self, order_ids: Sequence[str]) -> ShipmentBook:
        return ShipmentBook({o: self.shipments[o] for o in order_ids if o in self.shipments})

    async def claim_ready(self, now: datetime, limit: int) -> list[Shipment]:
        """No locks here: the claim by the domain's own predicate, in the claim order."""
        ready = [s for s in self.shipments.values() if s.is_ready(now)]
        return sorted(ready, key=lambda s: (s.ready_at or now, s.order_id))[:limit]

    async def claim_due(self, now: datetime, limit: int) -> list[Shipment]:
        due = [s for s in self.shipments.values() if s.is_due(now)]
        return sorted(due, key=lambda s: (s.next_step_at or now, s.order_id))[:limit]

    async def save(self, book: ShipmentBook) -> None:
        if any(order_id in self.shipments for order_id in book.created):
            raise ConcurrentShipment("a shipment of this batch exists already")
        for order_id in book.created | book.changed:
            if order_id in self.shipments or order_id in book.created:
                self.shipments[order_id] = book.shipments[order_id]
