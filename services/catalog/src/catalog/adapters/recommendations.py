"""The "bought together" projection in PostgreSQL: the consumer's batch store (asyncpg,
one statement per batch), its in-memory fake held to the same contract tests, the read
of a product's recommendations (SQLAlchemy Core, the catalog's read path), and a copy in
a fresh schema for a rebuild."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from catalog.adapters.tables import bought_together, products
from catalog.domain.recommendations import Pair
from orderflow_messaging.db import Connection, create_engine
from orderflow_messaging.write_plan import WritePlan

# In (sku, other) order, so that two batches adding the same pairs wait, never deadlock.
_ADD = """
    INSERT INTO bought_together AS t (sku, other, orders)
    SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[])
    ON CONFLICT (sku, other) DO UPDATE SET orders = t.orders + excluded.orders
"""


@dataclass(frozen=True)
class Recommendation:
    sku: str
    name: str
    price_minor: int
    currency: str
    orders: int  # orders that had it with the product asked about


class PgBoughtTogether:
    """In a transaction block (``plan`` None) the add runs at once; in an optimistic
    batch it is a part of ``plan`` (an increment of whatever is stored: nothing loaded,
    nothing to conflict with; the plan's inbox claim keeps it once per order)."""

    def __init__(self, conn: Connection, plan: WritePlan | None = None) -> None:
        self._conn = conn
        self._plan = plan

    async def add(self, counts: Counter[Pair]) -> None:
        """Add each pair's count to the stored one."""
        if not counts:
            return
        pairs = sorted(counts)
        args = ([s for s, _ in pairs], [o for _, o in pairs], [counts[p] for p in pairs])
        if self._plan is not None:
            self._plan.add(_ADD, *args)
        else:
            await self._conn.execute(_ADD, *args)


@dataclass
class MemoryBoughtTogether:
    """The fake: the same contract, held in a Counter."""

    counts: Counter[Pair] = field(default_factory=Counter)

    async def add(self, counts: Counter[Pair]) -> None:
        self.counts.update(counts)


async def recommended(conn: AsyncConnection, sku: str, limit: int) -> list[Recommendation]:
    """The products bought with ``sku`` most often (ties: by SKU), for sale."""
    t, p = bought_together.c, products.c
    query = (
        select(p.sku, p.name, p.price_minor, p.currency, t.orders)
        .select_from(bought_together.join(products, products.c.sku == t.other))
        .where(t.sku == sku, p.active)
        .order_by(t.orders.desc(), p.sku)
        .limit(limit)
    )
    return [Recommendation(*row) for row in await conn.execute(query)]


async def read_counts(database_url: str, schema: str) -> Counter[Pair]:
    """Every pair's count in ``schema``'s bought_together (live: the catalog schema)."""
    engine = create_engine(database_url, search_path=schema, pool_size=1)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(select(bought_together))
            return Counter({(r.sku, r.other): r.orders for r in rows})
    finally:
        await engine.dispose()


async def write_fresh(admin_url: str, schema: str, counts: Counter[Pair]) -> None:
    """Create ``schema`` (it must not exist: a rebuild never overwrites) with the
    bought_together table, and insert ``counts``; all or nothing. ``schema`` must be a
    plain identifier (the caller checks it)."""
    engine = create_engine(admin_url, search_path=schema, pool_size=1)
    try:
        async with engine.begin() as conn:
            await conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
            await conn.run_sync(lambda sync: bought_together.create(sync))
            rows: list[dict[str, Any]] = [
                {"sku": s, "other": o, "orders": n} for (s, o), n in sorted(counts.items())
            ]
            if rows:
                await conn.execute(bought_together.insert(), rows)
    finally:
        await engine.dispose()
