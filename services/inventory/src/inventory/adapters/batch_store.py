"""The inventory batch store: PostgreSQL through asyncpg (one statement per table per
batch), and an in-memory fake that passes the same contract tests."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

import asyncpg

from inventory.application.batch import StockBook
from inventory.domain.model import Reservation, ReservationStatus, ReturnReceipt, StockItem
from orderflow_messaging.db import Connection, rows_affected
from orderflow_messaging.jsontext import json_text

_RESERVATIONS = """
    SELECT order_id, status, lines, reason, expires_at FROM reservations
    WHERE order_id = ANY($1::text[]) ORDER BY order_id FOR UPDATE
"""
_STOCK = """
    SELECT sku, initial, available, reserved, committed, revision FROM stock_items
    WHERE sku = ANY($1::text[]) ORDER BY sku FOR UPDATE
"""
_INSERT_RESERVATIONS = """
    INSERT INTO reservations (order_id, status, lines, reason, expires_at)
    SELECT o, s, l::jsonb, r, e
    FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[])
         AS u(o, s, l, r, e)
    ON CONFLICT (order_id) DO NOTHING
"""
_UPDATE_RESERVATIONS = """
    UPDATE reservations r SET status = u.status, reason = u.reason, updated_at = now()
    FROM unnest($1::text[], $2::text[], $3::text[]) AS u(order_id, status, reason)
    WHERE r.order_id = u.order_id
"""
_UPDATE_STOCK = """
    UPDATE stock_items s SET initial = u.initial, available = u.available,
                             reserved = u.reserved, committed = u.committed,
                             revision = u.revision, updated_at = now()
    FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[],
                $6::bigint[])
         AS u(sku, initial, available, reserved, committed, revision)
    WHERE s.sku = u.sku
"""


_RECEIPTS = """
    SELECT return_id, order_id, lines FROM return_receipts WHERE order_id = ANY($1::text[])
"""
_INSERT_RECEIPTS = """
    INSERT INTO return_receipts (return_id, order_id, lines)
    SELECT r, o, l::jsonb FROM unnest($1::text[], $2::text[], $3::text[]) AS u(r, o, l)
    ON CONFLICT (return_id) DO NOTHING
"""


class ConcurrentReservation(Exception):
    """Another transaction reserved for the same order meanwhile (a rebalance): retry."""


def _receipt(row: asyncpg.Record) -> ReturnReceipt:
    lines = tuple((str(s), int(q), str(d)) for s, q, d in row["lines"])
    return ReturnReceipt(row["return_id"], row["order_id"], lines)


def _reservation(row: asyncpg.Record) -> Reservation:
    lines = row["lines"]
    return Reservation(
        order_id=row["order_id"],
        status=ReservationStatus(row["status"]),
        lines={sku: int(qty) for sku, qty in lines.items()},
        expires_at=row["expires_at"],
        reason=row["reason"],
    )


class PgStockStore:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def load_for_update(
        self, order_ids: Sequence[str], skus: Iterable[str], receipts_of: Sequence[str] = ()
    ) -> StockBook:
        rows = await self._conn.fetch(_RESERVATIONS, list(order_ids))
        reservations = {row["order_id"]: _reservation(row) for row in rows}
        wanted = set(skus) | {s for r in reservations.values() for s in r.lines}
        stock_rows = await self._conn.fetch(_STOCK, sorted(wanted))
        stock = {
            row["sku"]: StockItem(
                row["sku"],
                row["initial"],
                row["available"],
                row["reserved"],
                row["committed"],
                row["revision"],
            )
            for row in stock_rows
        }
        receipts: dict[str, ReturnReceipt] = {}
        if receipts_of:  # (the reservations, locked above, serialise an order's returns)
            for row in await self._conn.fetch(_RECEIPTS, list(receipts_of)):
                receipts[row["return_id"]] = _receipt(row)
        return StockBook(reservations, stock, receipts)

    async def save(self, book: StockBook) -> None:
        created = [book.reservations[o] for o in sorted(book.created)]
        if created:
            status = await self._conn.execute(
                _INSERT_RESERVATIONS,
                [r.order_id for r in created],
                [r.status.value for r in created],
                [json_text(r.lines) for r in created],
                [r.reason for r in created],
                [r.expires_at for r in created],
            )
            if rows_affected(status) != len(created):
                raise ConcurrentReservation("a reservation of this batch exists already")
        changed = [book.reservations[o] for o in sorted(book.changed - book.created)]
        if changed:
            await self._conn.execute(
                _UPDATE_RESERVATIONS,
                [r.order_id for r in changed],
                [r.status.value for r in changed],
                [r.reason for r in changed],
            )
        moved = [book.stock[s] for s in sorted(book.moved)]
        if moved:
            await self._conn.execute(
                _UPDATE_STOCK,
                [i.sku for i in moved],
                [i.initial for i in moved],
                [i.available for i in moved],
                [i.reserved for i in moved],
                [i.committed for i in moved],
                [i.revision for i in moved],
            )
        if book.new_receipts:
            status = await self._conn.execute(
                _INSERT_RECEIPTS,
                [r.return_id for r in book.new_receipts],
                [r.order_id for r in book.new_receipts],
                [json_text([list(line) for line in r.lines]) for r in book.new_receipts],
            )
            if rows_affected(status) != len(book.new_receipts):
                raise ConcurrentReservation("a return of this batch was restocked already")


@dataclass
class MemoryStockStore:
    """The fake: the same contract, held in dicts (for unit tests of the use case)."""

    reservations: dict[str, Reservation] = field(default_factory=dict)
    stock: dict[str, StockItem] = field(default_factory=dict)
    receipts: dict[str, ReturnReceipt] = field(default_factory=dict)

    async def load_for_update(
        self, order_ids: Sequence[str], skus: Iterable[str], receipts_of: Sequence[str] = ()
    ) -> StockBook:
        reservations = {o: self.reservations[o] for o in order_ids if o in self.reservations}
        wanted = set(skus) | {s for r in reservations.values() for s in r.lines}
        stock = {s: self.stock[s] for s in sorted(wanted) if s in self.stock}
        receipts = {k: r for k, r in self.receipts.items() if r.order_id in set(receipts_of)}
        return StockBook(reservations, stock, receipts)

    async def save(self, book: StockBook) -> None:
        for order_id in book.created:
            if order_id in self.reservations:
                raise ConcurrentReservation("a reservation of this batch exists already")
        for order_id in book.created | book.changed:
            if order_id in self.reservations or order_id in book.created:
                self.reservations[order_id] = replace(book.reservations[order_id])
        for sku in book.moved:
            if sku in self.stock:
                self.stock[sku] = book.stock[sku]
        if any(r.return_id in self.receipts for r in book.new_receipts):
            raise ConcurrentReservation("a return of this batch was restocked already")
        self.receipts.update({r.return_id: r for r in book.new_receipts})
