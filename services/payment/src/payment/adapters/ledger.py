"""Rows of the simulated gateway's ``gateway_ledger``: every call it ever accepted."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from payment.adapters.tables import gateway_ledger
from payment.domain.model import Call


@dataclass(frozen=True)
class LedgerEntry:
    key: str
    order_id: str
    kind: Call
    amount_minor: int
    currency: str | None
    result: str
    authorization_id: str | None
    created_at: datetime


# Plain SQL: SQLAlchemy 2.0 recompiles a PostgreSQL insert().on_conflict_*() on every call.
_ADD = text(
    """
    INSERT INTO gateway_ledger (key, order_id, kind, amount_minor, currency, result,
                                authorization_id, created_at)
    VALUES (:key, :order_id, :kind, :amount_minor, :currency, :result, :authorization_id,
            :created_at)
    ON CONFLICT (key) DO NOTHING
    RETURNING key, order_id, kind, amount_minor, currency, result, authorization_id, created_at
    """
)


def _entry(row: Any) -> LedgerEntry:
    return LedgerEntry(
        key=row.key,
        order_id=row.order_id,
        kind=Call(row.kind),
        amount_minor=row.amount_minor,
        currency=row.currency,
        result=row.result,
        authorization_id=row.authorization_id,
        created_at=row.created_at,
    )


class Ledger:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def by_key(self, key: str) -> LedgerEntry | None:
        query = select(gateway_ledger).where(gateway_ledger.c.key == key)
        row = (await self._conn.execute(query)).first()
        return _entry(row) if row else None

    async def add(self, entry: LedgerEntry) -> LedgerEntry:
        """Record ``entry``; when its key raced in first, the stored entry wins."""
        inserted = await self.add_new(entry)
        if inserted is not None:
            return inserted
        stored = await self.by_key(entry.key)
        assert stored is not None, "a conflicting key is committed before we can read it"
        return stored

    async def add_new(self, entry: LedgerEntry) -> LedgerEntry | None:
        """Record ``entry`` unless its key is taken (then None: nothing was written)."""
        values = asdict(entry) | {"kind": entry.kind.value}
        row = (await self._conn.execute(_ADD, values)).first()
        return _entry(row) if row is not None else None

    async def settle(self, key: str, from_result: str, to_result: str) -> LedgerEntry:
        """Move an undecided entry on, unless something else decided it first."""
        await self._conn.execute(
            update(gateway_ledger)
            .where(gateway_ledger.c.key == key, gateway_ledger.c.result == from_result)
            .values(result=to_result)
        )
        stored = await self.by_key(key)
        assert stored is not None
        return stored

    async def authorization(
        self, *, authorization_id: str | None = None, order_id: str | None = None
    ) -> LedgerEntry | None:
        """The authorize entry (by id, else the order's latest), locked: what a capture,
        void or refund of it may do depends on what else was done to it."""
        query = select(gateway_ledger).where(gateway_ledger.c.kind == Call.AUTHORIZE.value)
        if authorization_id is not None:
            query = query.where(gateway_ledger.c.authorization_id == authorization_id)
        else:
            query = query.where(gateway_ledger.c.order_id == order_id)
        row = (
            await self._conn.execute(
                query.order_by(gateway_ledger.c.id.desc()).limit(1).with_for_update()
            )
        ).first()
        return _entry(row) if row else None

    async def total(self, authorization_id: str, kind: Call, results: Iterable[str]) -> int:
        query = select(func.coalesce(func.sum(gateway_ledger.c.amount_minor), 0)).where(
            gateway_ledger.c.authorization_id == authorization_id,
            gateway_ledger.c.kind == kind.value,
            gateway_ledger.c.result.in_(list(results)),
        )
        return int(await self._conn.scalar(query) or 0)

    async def count(self, authorization_id: str, kind: Call, result: str) -> int:
        query = select(func.count()).where(
            gateway_ledger.c.authorization_id == authorization_id,
            gateway_ledger.c.kind == kind.value,
            gateway_ledger.c.result == result,
        )
        return int(await self._conn.scalar(query) or 0)

    async def entries(self, order_id: str | None, limit: int) -> list[LedgerEntry]:
        """The newest ``limit`` entries, oldest first."""
        query = select(gateway_ledger).order_by(gateway_ledger.c.id.desc()).limit(limit)
        if order_id is not None:
            query = query.where(gateway_ledger.c.order_id == order_id)
        return [_entry(row) for row in await self._conn.execute(query)][::-1]
