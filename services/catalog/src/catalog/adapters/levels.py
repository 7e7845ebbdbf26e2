"""The availability projection's store: PostgreSQL through asyncpg (one statement per
batch), and an in-memory fake that passes the same contract tests."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from catalog.domain.model import StockLevel
from orderflow_messaging.db import Connection
from orderflow_messaging.write_plan import WritePlan

# A level replaces the stored one only when it is newer: a redelivered or replayed level
# never moves a SKU back. (Each SKU at most once per statement: ``latest_levels``.)
_SAVE = """
    INSERT INTO stock_levels AS l (sku, available, revision, updated_at)
    SELECT u.sku, u.available, u.revision, now()
    FROM unnest($1::text[], $2::bigint[], $3::bigint[]) AS u(sku, available, revision)
    ON CONFLICT (sku) DO UPDATE SET
        available = excluded.available, revision = excluded.revision,
        updated_at = excluded.updated_at
    WHERE l.revision < excluded.revision
"""


class PgStockLevels:
    """In a transaction block (``plan`` None) the save runs at once; in an optimistic
    batch it is a part of ``plan`` (it loads nothing, so nothing can conflict)."""

    def __init__(self, conn: Connection, plan: WritePlan | None = None) -> None:
        self._conn = conn
        self._plan = plan

    async def save(self, levels: Sequence[StockLevel]) -> None:
        if not levels:
            return
        args = (
            [level.sku for level in levels],
            [level.available for level in levels],
            [level.revision for level in levels],
        )
        if self._plan is not None:
            self._plan.add(_SAVE, *args)
        else:
            await self._conn.execute(_SAVE, *args)

    async def get(self, sku: str) -> StockLevel | None:
        row = await self._conn.fetchrow(
            "SELECT sku, available, revision FROM stock_levels WHERE sku = $1", sku
        )
        return None if row is None else StockLevel(row["sku"], row["available"], row["revision"])


@dataclass
class MemoryStockLevels:
    """The fake: the same contract, held in a dict."""

    levels: dict[str, StockLevel] = field(default_factory=dict)

    async def save(self, levels: Sequence[StockLevel]) -> None:
        for level in levels:
            known = self.levels.get(level.sku)
            if known is None or known.revision < level.revision:
                self.levels[level.sku] = level

    async def get(self, sku: str) -> StockLevel | None:
        return self.levels.get(sku)
