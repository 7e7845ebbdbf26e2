"""Rows of the simulated gateway's ``gateway_ledger``: every call it ever accepted.

The gateway's calls go straight to asyncpg (each statement prepared once per
connection): with a batch's calls made concurrently, SQLAlchemy's per-statement work and
its pool's checkout and reset made the simulation cost twenty times the consumer's own
CPU per command. The read behind the HTTP route (``read_entries``) stays on SQLAlchemy.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from orderflow_messaging.db import Connection
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


_COLUMNS = "key, order_id, kind, amount_minor, currency, result, authorization_id, created_at"
_BY_KEY = f"SELECT {_COLUMNS} FROM gateway_ledger WHERE key = $1"  # noqa: S608 - constants
_ADD = f"""
    INSERT INTO gateway_ledger ({_COLUMNS})
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
    ON CONFLICT (key) DO NOTHING
    RETURNING {_COLUMNS}
"""  # noqa: S608 - constants
# A group of new entries in one statement; a key already taken is skipped (and not returned).
_ADD_MANY = f"""
    INSERT INTO gateway_ledger ({_COLUMNS})
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[],
                         $6::text[], $7::text[], $8::timestamptz[])
    ON CONFLICT (key) DO NOTHING
    RETURNING {_COLUMNS}
"""  # noqa: S608 - constants
_BY_KEYS = f"SELECT {_COLUMNS} FROM gateway_ledger WHERE key = ANY($1::text[])"  # noqa: S608
# Every authorize entry of these ids, locked in id order (two groups never deadlock).
_AUTHORIZATIONS_BY_IDS = f"""
    SELECT {_COLUMNS} FROM gateway_ledger
    WHERE kind = 'authorize' AND authorization_id = ANY($1::text[])
    ORDER BY id FOR UPDATE
"""  # noqa: S608 - constants
_COUNTS = """
    SELECT authorization_id, count(*) FROM gateway_ledger
    WHERE authorization_id = ANY($1::text[]) AND kind = $2 AND result = $3
    GROUP BY authorization_id
"""
_SETTLE = "UPDATE gateway_ledger SET result = $3 WHERE key = $1 AND result = $2"
# The order's (or the id's) latest authorization, locked.
_AUTHORIZATION_BY_ID = f"""
    SELECT {_COLUMNS} FROM gateway_ledger
    WHERE kind = 'authorize' AND authorization_id = $1
    ORDER BY id DESC LIMIT 1 FOR UPDATE
"""  # noqa: S608 - constants
_AUTHORIZATION_OF_ORDER = f"""
    SELECT {_COLUMNS} FROM gateway_ledger
    WHERE kind = 'authorize' AND order_id = $1
    ORDER BY id DESC LIMIT 1 FOR UPDATE
"""  # noqa: S608 - constants
_TOTAL = """
    SELECT coalesce(sum(amount_minor), 0) FROM gateway_ledger
    WHERE authorization_id = $1 AND kind = $2 AND result = ANY($3::text[])
"""
_COUNT = """
    SELECT count(*) FROM gateway_ledger
    WHERE authorization_id = $1 AND kind = $2 AND result = $3
"""


def _entry(row: asyncpg.Record | Any) -> LedgerEntry:
    return LedgerEntry(
        key=row["key"],
        order_id=row["order_id"],
        kind=Call(row["kind"]),
        amount_minor=row["amount_minor"],
        currency=row["currency"],
        result=row["result"],
        authorization_id=row["authorization_id"],
        created_at=row["created_at"],
    )


class Ledger:
    """The gateway's statements, on one of its own connections (asyncpg)."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def by_key(self, key: str) -> LedgerEntry | None:
        row = await self._conn.fetchrow(_BY_KEY, key)
        return _entry(row) if row is not None else None

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
        row = await self._conn.fetchrow(
            _ADD,
            entry.key,
            entry.order_id,
            entry.kind.value,
            entry.amount_minor,
            entry.currency,
            entry.result,
            entry.authorization_id,
            entry.created_at,
        )
        return _entry(row) if row is not None else None

    async def add_new_many(self, entries: Sequence[LedgerEntry]) -> dict[str, LedgerEntry]:
        """Record the entries whose keys are free (one statement); the recorded ones by
        key (of a key twice, the first)."""
        if not entries:
            return {}
        rows = await self._conn.fetch(
            _ADD_MANY,
            [e.key for e in entries],
            [e.order_id for e in entries],
            [e.kind.value for e in entries],
            [e.amount_minor for e in entries],
            [e.currency for e in entries],
            [e.result for e in entries],
            [e.authorization_id for e in entries],
            [e.created_at for e in entries],
        )
        return {row["key"]: _entry(row) for row in rows}

    async def by_keys(self, keys: Sequence[str]) -> dict[str, LedgerEntry]:
        return {row["key"]: _entry(row) for row in await self._conn.fetch(_BY_KEYS, list(keys))}

    async def authorizations(self, authorization_ids: Sequence[str]) -> dict[str, LedgerEntry]:
        """The latest authorize entry of each id, locked."""
        rows = await self._conn.fetch(_AUTHORIZATIONS_BY_IDS, sorted(authorization_ids))
        return {row["authorization_id"]: _entry(row) for row in rows}  # id order: latest wins

    async def counts(
        self, authorization_ids: Sequence[str], kind: Call, result: str
    ) -> dict[str, int]:
        rows = await self._conn.fetch(_COUNTS, list(authorization_ids), kind.value, result)
        return {row[0]: int(row[1]) for row in rows}

    async def settle(self, key: str, from_result: str, to_result: str) -> LedgerEntry:
        """Move an undecided entry on, unless something else decided it first."""
        await self._conn.execute(_SETTLE, key, from_result, to_result)
        stored = await self.by_key(key)
        assert stored is not None
        return stored

    async def authorization(
        self, *, authorization_id: str | None = None, order_id: str | None = None
    ) -> LedgerEntry | None:
        """The authorize entry (by id, else the order's latest), locked: what a capture,
        void or refund of it may do depends on what else was done to it."""
        if authorization_id is not None:
            row = await self._conn.fetchrow(_AUTHORIZATION_BY_ID, authorization_id)
        else:
            row = await self._conn.fetchrow(_AUTHORIZATION_OF_ORDER, order_id)
        return _entry(row) if row is not None else None

    async def total(self, authorization_id: str, kind: Call, results: Iterable[str]) -> int:
        total = await self._conn.fetchval(_TOTAL, authorization_id, kind.value, list(results))
        return int(total or 0)

    async def count(self, authorization_id: str, kind: Call, result: str) -> int:
        return int(await self._conn.fetchval(_COUNT, authorization_id, kind.value, result) or 0)


async def read_entries(
    conn: AsyncConnection, order_id: str | None, limit: int
) -> list[LedgerEntry]:
    """The newest ``limit`` entries (of one order, or all), oldest first (HTTP, SQLAlchemy)."""
    query = select(gateway_ledger).order_by(gateway_ledger.c.id.desc()).limit(limit)
    if order_id is not None:
        query = query.where(gateway_ledger.c.order_id == order_id)
    return [_entry(row._mapping) for row in await conn.execute(query)][::-1]
