"""Promotions and redemptions in PostgreSQL.

``PromotionStore`` is the managers' path (SQLAlchemy Core, like the price data);
``PgRedemptions`` the saga step's (asyncpg, a fixed handful of statements per batch:
lock the named promotions in id order, read the orders' redemptions and the customers'
uses, then one upsert of the redemptions and one update of the counts).
``MemoryRedemptions`` is its fake, held to the same contract tests.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from catalog.adapters.tables import promotions
from catalog.domain.promotions import (
    Redemption,
    RedemptionBook,
    RedemptionStatus,
    StoredPromotion,
)
from orderflow_messaging.db import Connection
from orderflow_pricing import Promotion


def definition_of(stored: StoredPromotion) -> dict[str, Any]:
    """The stored definition: the promotion's JSON shape with the SKUs and categories
    as the manager declared them (the resolved scope is its own column)."""
    definition = stored.promotion.to_json()
    del definition["promotion_id"]  # its own column
    definition["skus"] = sorted(stored.declared_skus) if stored.declared_skus is not None else None
    definition["categories"] = list(stored.categories) if stored.categories is not None else None
    return definition


def promotion_of(row: Any) -> StoredPromotion:
    d = row["definition"]
    promotion = Promotion.from_json(
        {**d, "promotion_id": row["promotion_id"], "skus": row["scope"]}
    )
    return StoredPromotion(
        promotion=promotion,
        declared_skus=frozenset(d["skus"]) if d["skus"] is not None else None,
        categories=tuple(d["categories"]) if d["categories"] is not None else None,
        active=row["active"],
        revision=row["revision"],
        redeemed=row["redeemed"],
    )


# The SKUs of products in these categories or below them.
_SKUS_UNDER = text("""
    WITH RECURSIVE under(slug) AS (
        SELECT slug FROM categories WHERE slug = ANY(:roots)
        UNION SELECT c.slug FROM categories c JOIN under u ON c.parent = u.slug
    )
    SELECT sku FROM products WHERE category IN (SELECT slug FROM under) ORDER BY sku
""")


class PromotionStore:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def get(self, promotion_id: str, *, for_update: bool = False) -> StoredPromotion | None:
        query = select(promotions).where(promotions.c.promotion_id == promotion_id)
        row = (await self._conn.execute(query.with_for_update() if for_update else query)).first()
        return promotion_of(row._mapping) if row else None

    async def all(self) -> list[StoredPromotion]:
        rows = await self._conn.execute(select(promotions).order_by(promotions.c.promotion_id))
        return [promotion_of(row._mapping) for row in rows]

    async def holder_of(self, code: str) -> str | None:
        """The promotion that has this coupon code, if any."""
        query = select(promotions.c.promotion_id).where(promotions.c.code == code)
        return (await self._conn.execute(query)).scalar()

    async def skus_under(self, categories: Sequence[str]) -> list[str]:
        rows = await self._conn.execute(_SKUS_UNDER, {"roots": list(categories)})
        return [row.sku for row in rows]

    async def save(self, stored: StoredPromotion) -> None:
        """Create or replace the definition (the count of uses is the redemptions')."""
        p = stored.promotion
        row = dict(
            promotion_id=p.promotion_id, code=p.code, definition=definition_of(stored),
            scope=sorted(p.skus) if p.skus is not None else None,
            active=stored.active, revision=stored.revision,
        )  # fmt: skip
        stmt = insert(promotions).values(**row)
        await self._conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["promotion_id"],
                set_={name: stmt.excluded[name] for name in row if name != "promotion_id"},
            )
        )


_LOCK = """
    SELECT promotion_id, definition, scope, active, revision, redeemed
    FROM promotions WHERE promotion_id = ANY($1::text[])
    ORDER BY promotion_id FOR UPDATE
"""
_REDEMPTIONS = """
    SELECT order_id, promotion_id, customer_id, status, updated_at
    FROM redemptions WHERE order_id = ANY($1::text[])
"""
_CUSTOMER_USES = """
    SELECT promotion_id, customer_id, count(*) AS uses
    FROM redemptions
    WHERE promotion_id = ANY($1::text[]) AND customer_id = ANY($2::text[])
      AND status = 'reserved'
    GROUP BY promotion_id, customer_id
"""
_SAVE_REDEMPTIONS = """
    INSERT INTO redemptions AS r (order_id, promotion_id, customer_id, status, updated_at)
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[])
    ON CONFLICT (order_id, promotion_id) DO UPDATE SET
        status = excluded.status, updated_at = excluded.updated_at
"""
_SAVE_COUNTS = """
    UPDATE promotions AS p SET redeemed = u.redeemed
    FROM unnest($1::text[], $2::bigint[]) AS u(promotion_id, redeemed)
    WHERE p.promotion_id = u.promotion_id
"""


def _redemption(row: Any) -> Redemption:
    return Redemption(
        row["order_id"],
        row["promotion_id"],
        row["customer_id"],
        RedemptionStatus(row["status"]),
        row["updated_at"],
    )


class PgRedemptions:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def load_for_update(
        self, promotion_ids: Sequence[str], order_ids: Sequence[str], customers: Sequence[str]
    ) -> RedemptionBook:
        locked = await self._conn.fetch(_LOCK, sorted(set(promotion_ids)))
        rows = await self._conn.fetch(_REDEMPTIONS, list(order_ids))
        uses = await self._conn.fetch(_CUSTOMER_USES, list(promotion_ids), list(customers))
        return RedemptionBook(
            promotions={row["promotion_id"]: promotion_of(row) for row in locked},
            redemptions={(r["order_id"], r["promotion_id"]): _redemption(r) for r in rows},
            customer_uses={(row["promotion_id"], row["customer_id"]): row["uses"] for row in uses},
        )

    async def save(self, book: RedemptionBook) -> None:
        written = list(book.written.values())
        if written:
            await self._conn.execute(
                _SAVE_REDEMPTIONS,
                [r.order_id for r in written],
                [r.promotion_id for r in written],
                [r.customer_id for r in written],
                [r.status.value for r in written],
                [r.at for r in written],
            )
        if book.counted:
            counted = sorted(book.counted)
            await self._conn.execute(
                _SAVE_COUNTS, counted, [book.promotions[pid].redeemed for pid in counted]
            )


@dataclass
class MemoryRedemptions:
    """The fake: promotions and redemptions in dicts."""

    promotions: dict[str, StoredPromotion] = field(default_factory=dict)
    redemptions: dict[tuple[str, str], Redemption] = field(default_factory=dict)

    async def load_for_update(
        self, promotion_ids: Sequence[str], order_ids: Sequence[str], customers: Sequence[str]
    ) -> RedemptionBook:
        orders, people = set(order_ids), set(customers)
        uses: dict[tuple[str, str], int] = {}
        for r in self.redemptions.values():
            reserved = r.status is RedemptionStatus.RESERVED
            if reserved and r.promotion_id in promotion_ids and r.customer_id in people:
                key = (r.promotion_id, r.customer_id)
                uses[key] = uses.get(key, 0) + 1
        return RedemptionBook(
            promotions={
                pid: self.promotions[pid] for pid in promotion_ids if pid in self.promotions
            },
            redemptions={k: r for k, r in self.redemptions.items() if k[0] in orders},
            customer_uses=uses,
        )

    async def save(self, book: RedemptionBook) -> None:
        self.redemptions.update(book.written)
        for pid in book.counted:
            stored = self.promotions[pid]
            self.promotions[pid] = replace(stored, redeemed=book.promotions[pid].redeemed)
