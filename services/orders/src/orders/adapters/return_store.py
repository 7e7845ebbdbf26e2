"""The returns store: PostgreSQL through asyncpg (one statement per table per unit of
work), in a transaction block or as parts of a consumer batch's write plan, like the
saga store; and an in-memory fake that passes the same contract tests."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from orderflow_messaging.db import Connection
from orderflow_messaging.jsontext import json_text
from orderflow_messaging.write_plan import WritePlan
from orders.adapters.batch_writes import Write, apply_writes, held_versions
from orders.adapters.repository import ConcurrencyConflict
from orders.application.return_book import ReturnBook, ReturnHistoryRow
from orders.returns.state import ReceivedLine, ReturnCase, ReturnLine, ReturnStatus

_COLUMNS = """return_id, order_id, customer_id, status, attempt, deadline, outcome,
              refund_minor, data, version, created_at"""
_READ = f"SELECT {_COLUMNS} FROM returns WHERE return_id = ANY($1::text[])"  # noqa: S608
_LOAD = _READ + " ORDER BY return_id FOR UPDATE"
_OF_ORDER = f"SELECT {_COLUMNS} FROM returns WHERE order_id = $1 ORDER BY created_at, return_id"  # noqa: S608
_FINGERPRINT = "SELECT fingerprint FROM returns WHERE return_id = $1"
# The timers' claim: a return another timer (replica) holds is skipped, never awaited.
_DUE = """
    SELECT return_id FROM returns
    WHERE status IN ('approved', 'label_issued', 'received', 'refunded', 'cancelling')
      AND deadline <= $1
    ORDER BY deadline, return_id LIMIT $2 FOR UPDATE SKIP LOCKED
"""
_INSERT = """
    INSERT INTO returns (return_id, order_id, customer_id, status, attempt, deadline, outcome,
                         refund_minor, data, fingerprint, version, created_at, updated_at)
    SELECT u.return_id, u.order_id, u.customer_id, u.status, u.attempt, u.deadline, u.outcome,
           u.refund_minor, u.data::jsonb, u.fingerprint, u.version, u.created_at, u.created_at
    FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int[], $6::timestamptz[],
                $7::text[], $8::bigint[], $9::text[], $10::text[], $11::int[],
                $12::timestamptz[])
         AS u(return_id, order_id, customer_id, status, attempt, deadline, outcome,
              refund_minor, data, fingerprint, version, created_at)
    ON CONFLICT (return_id) DO NOTHING
"""
_UPDATE = """
    UPDATE returns r SET status = u.status, attempt = u.attempt, deadline = u.deadline,
                         outcome = u.outcome, refund_minor = u.refund_minor,
                         data = u.data::jsonb, version = u.version, updated_at = now()
    FROM unnest($1::text[], $2::text[], $3::int[], $4::timestamptz[], $5::text[],
                $6::bigint[], $7::text[], $8::int[], $9::int[])
         AS u(return_id, status, attempt, deadline, outcome, refund_minor, data, version,
              expected)
    WHERE r.return_id = u.return_id AND r.version = u.expected
"""
# The returns a batch read and left as they were, still at the version read (locked, so
# a change committed meanwhile is seen: write_plan.py).
_HOLD = """
    SELECT 1 FROM returns r
    JOIN unnest($1::text[], $2::int[]) AS u(return_id, version)
      ON r.return_id = u.return_id AND r.version = u.version
    FOR SHARE OF r
"""
_HISTORY = """
    INSERT INTO return_history (return_id, order_id, at, kind, message_type, from_status,
                                to_status, commands, note)
    SELECT u.return_id, u.order_id, u.at, u.kind, u.message_type, u.from_status,
           u.to_status, u.commands::jsonb, u.note
    FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[], $5::text[], $6::text[],
                $7::text[], $8::text[], $9::text[]) WITH ORDINALITY
         AS u(return_id, order_id, at, kind, message_type, from_status, to_status, commands,
              note, n)
    ORDER BY u.n
"""
_COUNTS = "SELECT status, count(*) AS n FROM returns GROUP BY status"
_READ_HISTORY = """
    SELECT return_id, order_id, at, kind, message_type, from_status, to_status, commands, note
    FROM return_history WHERE return_id = $1 ORDER BY id
"""


def return_data(case: ReturnCase) -> dict[str, Any]:
    return {
        "currency": case.currency,
        "address": dict(case.address),
        "carrier": case.carrier,
        "reason": case.reason,
        "tracking_number": case.tracking_number,
        "lines": [
            {
                "sku": ln.sku,
                "quantity": ln.quantity,
                "unit_price_minor": ln.unit_price_minor,
                "line_quantity": ln.line_quantity,
                "line_discount_minor": ln.line_discount_minor,
                "components": [list(c) for c in ln.components],
                "line_no": ln.line_no,
            }
            for ln in case.lines
        ],
        "received": [
            {"sku": r.sku, "quantity": r.quantity, "condition": r.condition} for r in case.received
        ],
        "before": [list(pair) for pair in case.before],
    }


def return_of(row: Any) -> ReturnCase:
    data = row["data"]
    return ReturnCase(
        return_id=row["return_id"],
        order_id=row["order_id"],
        customer_id=row["customer_id"],
        currency=data["currency"],
        address=data["address"],
        carrier=data.get("carrier"),
        lines=tuple(
            ReturnLine(
                ln["sku"],
                ln["quantity"],
                ln["unit_price_minor"],
                ln["line_quantity"],
                ln["line_discount_minor"],
                tuple((s, int(q)) for s, q in ln["components"]),
                ln["line_no"],
            )
            for ln in data["lines"]
        ),
        status=ReturnStatus(row["status"]),
        reason=data["reason"],
        requested_at=row["created_at"],
        attempt=row["attempt"],
        deadline=row["deadline"],
        outcome=row["outcome"],
        tracking_number=data.get("tracking_number"),
        received=tuple(
            ReceivedLine(r["sku"], r["quantity"], r["condition"]) for r in data["received"]
        ),
        refund_minor=row["refund_minor"],
        before=tuple((int(n), int(u)) for n, u in data.get("before", ())),
        version=row["version"],
    )


class PgReturnStore:
    """In a transaction block (``plan`` None): the load locks, each write is a
    statement. In a consumer's optimistic batch: the load does not lock, and the writes
    are parts of ``plan``, each return read expected at the version loaded (a changed
    one by its update, an unchanged one held)."""

    def __init__(self, conn: Connection, plan: WritePlan | None = None) -> None:
        self._conn = conn
        self._plan = plan

    async def load_for_update(self, return_ids: Sequence[str]) -> ReturnBook:
        rows = await self._conn.fetch(_LOAD if self._plan is None else _READ, list(return_ids))
        return ReturnBook({row["return_id"]: return_of(row) for row in rows})

    async def get(self, return_id: str) -> ReturnCase | None:
        """Read, without a lock."""
        rows = await self._conn.fetch(_READ, [return_id])
        return return_of(rows[0]) if rows else None

    async def of_order(self, order_id: str) -> list[ReturnCase]:
        return [return_of(row) for row in await self._conn.fetch(_OF_ORDER, order_id)]

    async def fingerprint(self, return_id: str) -> str | None:
        value = await self._conn.fetchval(_FINGERPRINT, return_id)
        return None if value is None else str(value)

    async def claim_due(self, now: datetime, limit: int) -> list[str]:
        return [row["return_id"] for row in await self._conn.fetch(_DUE, now, limit)]

    async def counts(self) -> dict[str, int]:
        """Returns per status (for the gauges)."""
        return {row["status"]: int(row["n"]) for row in await self._conn.fetch(_COUNTS)}

    async def history(self, return_id: str) -> list[ReturnHistoryRow]:
        rows = await self._conn.fetch(_READ_HISTORY, return_id)
        return [
            ReturnHistoryRow(
                r["return_id"],
                r["order_id"],
                r["at"],
                r["kind"],
                r["message_type"],
                r["from_status"],
                r["to_status"],
                list(r["commands"]),
                r["note"],
            )
            for r in rows
        ]

    async def save(self, book: ReturnBook) -> None:
        created = [book.cases[r] for r in sorted(book.created)]
        changed = [book.cases[r] for r in sorted(book.changed)]
        await apply_writes(self._conn, self._plan, (
            Write(_INSERT, _insert_args(book, created), len(created),
                  "a return of this request exists already"),
            Write(_UPDATE, _update_args(book, changed), len(changed),
                  "a return changed since it was loaded"),
            Write(_HOLD, *held_versions(book.loaded_versions, book.changed),
                  "a return this batch read changed since it was loaded", hold=True),
            Write(_HISTORY, _history_args(book.history)),
        ))  # fmt: skip


def _insert_args(book: ReturnBook, cases: list[ReturnCase]) -> list[list[object]]:
    return [
        [c.return_id for c in cases],
        [c.order_id for c in cases],
        [c.customer_id for c in cases],
        [c.status.value for c in cases],
        [c.attempt for c in cases],
        [c.deadline for c in cases],
        [c.outcome for c in cases],
        [c.refund_minor for c in cases],
        [json_text(return_data(c)) for c in cases],
        [book.fingerprints[c.return_id] for c in cases],
        [c.version for c in cases],
        [c.requested_at for c in cases],
    ]


def _update_args(book: ReturnBook, cases: list[ReturnCase]) -> list[list[object]]:
    return [
        [c.return_id for c in cases],
        [c.status.value for c in cases],
        [c.attempt for c in cases],
        [c.deadline for c in cases],
        [c.outcome for c in cases],
        [c.refund_minor for c in cases],
        [json_text(return_data(c)) for c in cases],
        [c.version for c in cases],
        [book.loaded_versions[c.return_id] for c in cases],
    ]


def _history_args(rows: list[ReturnHistoryRow]) -> list[list[object]]:
    return [
        [r.return_id for r in rows],
        [r.order_id for r in rows],
        [r.at for r in rows],
        [r.kind for r in rows],
        [r.message_type for r in rows],
        [r.from_status for r in rows],
        [r.to_status for r in rows],
        [json_text(r.commands) for r in rows],
        [r.note for r in rows],
    ]


@dataclass
class MemoryReturnStore:
    """The fake: the same contract, held in dicts and a list."""

    cases: dict[str, ReturnCase] = field(default_factory=dict)
    fingerprints: dict[str, str] = field(default_factory=dict)
    rows: list[ReturnHistoryRow] = field(default_factory=list)

    async def load_for_update(self, return_ids: Sequence[str]) -> ReturnBook:
        return ReturnBook({r: self.cases[r] for r in return_ids if r in self.cases})

    async def get(self, return_id: str) -> ReturnCase | None:
        return self.cases.get(return_id)

    async def of_order(self, order_id: str) -> list[ReturnCase]:
        return [c for c in self.cases.values() if c.order_id == order_id]

    async def fingerprint(self, return_id: str) -> str | None:
        return self.fingerprints.get(return_id)

    async def claim_due(self, now: datetime, limit: int) -> list[str]:
        due = sorted(
            (c.deadline, r) for r, c in self.cases.items()
            if c.deadline is not None and c.deadline <= now and not c.status.terminal
        )  # fmt: skip
        return [r for _, r in due[:limit]]

    async def history(self, return_id: str) -> list[ReturnHistoryRow]:
        return [row for row in self.rows if row.return_id == return_id]

    async def save(self, book: ReturnBook) -> None:
        if any(r in self.cases for r in book.created):
            raise ConcurrencyConflict("a return of this request exists already")
        for r, version in book.loaded_versions.items():
            if r not in self.cases or self.cases[r].version != version:
                raise ConcurrencyConflict("a return changed since it was loaded")
        for r in book.created | book.changed:
            self.cases[r] = book.cases[r]
        self.fingerprints.update(book.fingerprints)
        self.rows.extend(book.history)
