"""The history batch store: PostgreSQL through asyncpg (two statements per batch), and an
in-memory fake that passes the same contract tests.

The write is one upsert. Rows of orders the load found (and locked) are updated through
``ON CONFLICT DO UPDATE``; the other rows are plain inserts, unless another transaction
inserted the same order meanwhile: the insert then waits for that transaction, and once
it committed the conflict takes the ``DO UPDATE`` path, whose ``WHERE`` (only loaded
orders) is false, so nothing is written, but PostgreSQL locks the row all the same and
``RETURNING`` leaves it out. That is how ``save`` reports it, already locked for the
reload.

Chosen by measurement over inserting every missing order as a blank row first (a third
statement per batch, and every new row written twice): per message, client CPU 68-78 us
against 82-91 at 10 facts a batch, 28-34 against 36-40 at 200; PostgreSQL backend CPU
11-16 us against 19-23 at 200 (the per-message path it replaces: about 1,200 us client
and 220 us PostgreSQL per message, for its four statements)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

from history.adapters.repository import delivery_data, history_of, lines_data
from history.domain.projection import OrderHistory
from orderflow_messaging.db import Connection
from orderflow_messaging.jsontext import json_text
from orderflow_messaging.write_plan import WritePlan

# Columns in this order everywhere (``_arrays`` too).
_READ = """
    SELECT order_id, customer_id, placed_at, total_minor, currency, lines, delivery, status,
           reason, status_at, fulfilment, updated_at, events_applied
    FROM order_history
    WHERE order_id = ANY($1::text[])
"""
_LOAD = _READ + " ORDER BY order_id FOR UPDATE"
_COLUMNS = """
    unnest($1::text[], $2::text[], $3::timestamptz[], $4::bigint[], $5::text[],
           $6::text[], $7::text[], $8::text[], $9::text[], $10::timestamptz[], $11::text[],
           $12::timestamptz[], $13::int[])
"""
# An optimistic batch's writes: new rows must still be new, loaded rows unchanged
# (``events_applied`` counts every change, so it serves as the row's version).
_INSERT_NEW = f"""
    INSERT INTO order_history (order_id, customer_id, placed_at, total_minor, currency,
                               lines, delivery, status, reason, status_at, fulfilment,
                               updated_at, events_applied)
    SELECT o, c, p, t, cu, l::jsonb, d::jsonb, s, r, sa, f, ua, n
    FROM {_COLUMNS} AS u(o, c, p, t, cu, l, d, s, r, sa, f, ua, n)
    ON CONFLICT (order_id) DO NOTHING
"""  # noqa: S608 - constant text
_UPDATE_LOADED = """
    UPDATE order_history AS h SET
        customer_id = u.c, placed_at = u.p, total_minor = u.t, currency = u.cu,
        lines = u.l::jsonb, delivery = u.d::jsonb, status = u.s, reason = u.r,
        status_at = u.sa, fulfilment = u.f, updated_at = u.ua, events_applied = u.n
    FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::bigint[], $5::text[],
                $6::text[], $7::text[], $8::text[], $9::text[], $10::timestamptz[],
                $11::text[], $12::timestamptz[], $13::int[], $14::int[])
         AS u(o, c, p, t, cu, l, d, s, r, sa, f, ua, n, loaded_n)
    WHERE h.order_id = u.o AND h.events_applied = u.loaded_n
"""
_SAVE = f"""
    INSERT INTO order_history AS h (order_id, customer_id, placed_at, total_minor, currency,
                                    lines, delivery, status, reason, status_at, fulfilment,
                                    updated_at, events_applied)
    SELECT o, c, p, t, cu, l::jsonb, d::jsonb, s, r, sa, f, ua, n
    FROM {_COLUMNS} AS u(o, c, p, t, cu, l, d, s, r, sa, f, ua, n)
    ON CONFLICT (order_id) DO UPDATE SET
        customer_id = excluded.customer_id, placed_at = excluded.placed_at,
        total_minor = excluded.total_minor, currency = excluded.currency,
        lines = excluded.lines, delivery = excluded.delivery, status = excluded.status,
        reason = excluded.reason, status_at = excluded.status_at,
        fulfilment = excluded.fulfilment, updated_at = excluded.updated_at,
        events_applied = excluded.events_applied
    WHERE h.order_id = ANY($14::text[])
    RETURNING h.order_id
"""  # noqa: S608 - constant text


def _arrays(rows: Sequence[OrderHistory]) -> list[list[Any]]:
    """One array per column, in the statements' order. ``lines`` and ``delivery`` go as
    JSON text: asyncpg would bind a list of lists as a 2-D array."""
    return [
        [r.order_id for r in rows],
        [r.customer_id for r in rows],
        [r.placed_at for r in rows],
        [r.total_minor for r in rows],
        [r.currency for r in rows],
        [None if r.lines is None else json_text(lines_data(r.lines)) for r in rows],
        [None if r.delivery is None else json_text(delivery_data(r.delivery)) for r in rows],
        [r.status.value for r in rows],
        [r.reason for r in rows],
        [r.status_at for r in rows],
        [r.fulfilment.value for r in rows],
        [r.updated_at for r in rows],
        [r.events_applied for r in rows],
    ]


class PgHistoryStore:
    """In a transaction block (``plan`` None): the load locks, the write is the upsert
    above. For an optimistic batch: the load does not lock, and the writes are two
    parts of ``plan`` (insert the new rows, update the loaded ones at the
    ``events_applied`` they were loaded with); nothing is ever "taken" then: a row
    created meanwhile rolls the plan back."""

    def __init__(self, conn: Connection, plan: WritePlan | None = None) -> None:
        self._conn = conn
        self._plan = plan
        self._loaded: dict[str, int] = {}

    async def load_for_update(self, order_ids: Sequence[str]) -> dict[str, OrderHistory]:
        sql = _LOAD if self._plan is None else _READ
        rows = await self._conn.fetch(sql, sorted(order_ids))
        loaded = {row["order_id"]: history_of(row) for row in rows}
        self._loaded.update((o, h.events_applied) for o, h in loaded.items())
        return loaded

    async def save(self, rows: Sequence[OrderHistory], loaded: Collection[str]) -> set[str]:
        if self._plan is not None:
            self._add_to(self._plan, rows)
            return set()
        if not rows:
            return set()
        ordered = sorted(rows, key=lambda row: row.order_id)  # inserts in one order too
        written = await self._conn.fetch(_SAVE, *_arrays(ordered), sorted(loaded))
        return {row.order_id for row in ordered} - {row["order_id"] for row in written}

    def _add_to(self, plan: WritePlan, rows: Sequence[OrderHistory]) -> None:
        ordered = sorted(rows, key=lambda row: row.order_id)
        new = [r for r in ordered if r.order_id not in self._loaded]
        known = [r for r in ordered if r.order_id in self._loaded]
        plan.add(_INSERT_NEW, *_arrays(new), expect=len(new))
        plan.add(
            _UPDATE_LOADED, *_arrays(known), [self._loaded[r.order_id] for r in known],
            expect=len(known),
        )  # fmt: skip


@dataclass
class MemoryHistoryStore:
    """The fake: the same contract, held in a dict (for unit tests of the use case)."""

    rows: dict[str, OrderHistory] = field(default_factory=dict)

    async def load_for_update(self, order_ids: Sequence[str]) -> dict[str, OrderHistory]:
        return {o: self.rows[o] for o in sorted(order_ids) if o in self.rows}

    async def save(self, rows: Sequence[OrderHistory], loaded: Collection[str]) -> set[str]:
        taken: set[str] = set()
        for row in rows:
            if row.order_id in self.rows and row.order_id not in loaded:
                taken.add(row.order_id)
            else:
                self.rows[row.order_id] = row
        return taken
