"""The return label store of the consumer: PostgreSQL through asyncpg (one statement per
write per batch), and an in-memory fake that passes the same contract."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from orderflow_messaging.db import Connection, rows_affected
from shipping.application.return_labels import LabelBook
from shipping.domain.return_labels import LabelStatus, ReturnLabel

_LOAD = """
    SELECT return_id, order_id, status, carrier, tracking_number, reason FROM return_labels
    WHERE return_id = ANY($1::text[]) ORDER BY return_id FOR UPDATE
"""
_INSERT = """
    INSERT INTO return_labels (return_id, order_id, status, carrier, tracking_number, reason)
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[])
    ON CONFLICT (return_id) DO NOTHING
"""
_UPDATE = """
    UPDATE return_labels l SET status = u.status, reason = u.reason, updated_at = now()
    FROM unnest($1::text[], $2::text[], $3::text[]) AS u(return_id, status, reason)
    WHERE l.return_id = u.return_id
"""


class ConcurrentLabel(Exception):
    """Another transaction issued a label of this batch meanwhile (a rebalance): retry."""


class PgLabelStore:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def load_for_update(self, return_ids: Sequence[str]) -> LabelBook:
        rows = await self._conn.fetch(_LOAD, list(return_ids))
        return LabelBook(
            {
                row["return_id"]: ReturnLabel(
                    row["return_id"],
                    row["order_id"],
                    LabelStatus(row["status"]),
                    row["carrier"],
                    row["tracking_number"],
                    row["reason"],
                )
                for row in rows
            }
        )

    async def save(self, book: LabelBook) -> None:
        created = [book.labels[r] for r in sorted(book.created)]
        if created:
            status = await self._conn.execute(
                _INSERT,
                [lb.return_id for lb in created],
                [lb.order_id for lb in created],
                [lb.status.value for lb in created],
                [lb.carrier for lb in created],
                [lb.tracking_number for lb in created],
                [lb.reason for lb in created],
            )
            if rows_affected(status) != len(created):
                raise ConcurrentLabel("a label of this batch exists already")
        changed = [book.labels[r] for r in sorted(book.changed)]
        if changed:
            await self._conn.execute(
                _UPDATE,
                [lb.return_id for lb in changed],
                [lb.status.value for lb in changed],
                [lb.reason for lb in changed],
            )


@dataclass
class MemoryLabelStore:
    labels: dict[str, ReturnLabel] = field(default_factory=dict)

    async def load_for_update(self, return_ids: Sequence[str]) -> LabelBook:
        return LabelBook({r: self.labels[r] for r in return_ids if r in self.labels})

    async def save(self, book: LabelBook) -> None:
        if any(r in self.labels for r in book.created):
            raise ConcurrentLabel("a label of this batch exists already")
        for return_id in book.created | book.changed:
            self.labels[return_id] = book.labels[return_id]
