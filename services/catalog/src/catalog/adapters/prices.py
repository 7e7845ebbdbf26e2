"""Price lists, rules and customers' price groups: explicit row <-> domain mapping
(SQLAlchemy Core; prices are a read and admin path, not the order's hot path)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from catalog.adapters.tables import customer_price_groups, price_lists, price_rules
from catalog.domain.prices import StoredList, StoredRule
from orderflow_pricing import ListKind, PriceList, PriceRule, Tier


def _list_of(row: Any) -> StoredList:
    prices = {
        sku: tuple(Tier(int(q), int(p)) for q, p in tiers) for sku, tiers in row.prices.items()
    }
    price_list = PriceList(
        list_id=row.list_id, kind=ListKind(row.kind), currency=row.currency, prices=prices,
        customer_id=row.customer_id, group=row.grp,
        valid_from=row.valid_from, valid_until=row.valid_until,
    )  # fmt: skip
    return StoredList(price_list, row.active, row.revision)


def _rule_of(row: Any) -> StoredRule:
    rule = PriceRule(
        rule_id=row.rule_id, percent=Decimal(row.basis_points) / 100, priority=row.priority,
        skus=frozenset(row.skus) if row.skus is not None else None,
        valid_from=row.valid_from, valid_until=row.valid_until,
        stock_at_most=row.stock_at_most, stock_at_least=row.stock_at_least,
        floor_minor=row.floor_minor, cap_minor=row.cap_minor,
    )  # fmt: skip
    return StoredRule(rule, row.basis_points, row.active, row.revision)


def _upsert(table: Any, key: str, row: dict[str, Any]) -> Any:
    stmt = insert(table).values(**row)
    return stmt.on_conflict_do_update(
        index_elements=[key], set_={name: stmt.excluded[name] for name in row if name != key}
    )


class PriceBook:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def price_list(self, list_id: str, *, for_update: bool = False) -> StoredList | None:
        query = select(price_lists).where(price_lists.c.list_id == list_id)
        row = (await self._conn.execute(query.with_for_update() if for_update else query)).first()
        return _list_of(row) if row else None

    async def price_lists(self) -> list[StoredList]:
        rows = await self._conn.execute(select(price_lists).order_by(price_lists.c.list_id))
        return [_list_of(row) for row in rows]

    async def lists_for(
        self, customer_id: str | None, groups: Sequence[str], currency: str, at: datetime
    ) -> list[PriceList]:
        """The active lists that may price this customer in ``currency`` at ``at``."""
        whom: list[ColumnElement[bool]] = [price_lists.c.kind == ListKind.DEFAULT.value]
        if groups:
            whom.append(and_(price_lists.c.kind == "group", price_lists.c.grp.in_(groups)))
        if customer_id is not None:
            whom.append(
                and_(price_lists.c.kind == "contract", price_lists.c.customer_id == customer_id)
            )
        rows = await self._conn.execute(
            select(price_lists).where(
                price_lists.c.active,
                price_lists.c.currency == currency,
                or_(*whom),
                or_(price_lists.c.valid_from.is_(None), price_lists.c.valid_from <= at),
                or_(price_lists.c.valid_until.is_(None), price_lists.c.valid_until > at),
            )
        )
        return [_list_of(row).price_list for row in rows]

    async def save_list(self, stored: StoredList) -> None:
        p = stored.price_list
        row = dict(
            list_id=p.list_id, kind=p.kind.value, currency=p.currency,
            customer_id=p.customer_id, grp=p.group,
            valid_from=p.valid_from, valid_until=p.valid_until,
            prices={
                sku: [[t.min_quantity, t.unit_price_minor] for t in tiers]
                for sku, tiers in sorted(p.prices.items())
            },
            active=stored.active, revision=stored.revision,
        )  # fmt: skip
        await self._conn.execute(_upsert(price_lists, "list_id", row))

    async def rule(self, rule_id: str, *, for_update: bool = False) -> StoredRule | None:
        query = select(price_rules).where(price_rules.c.rule_id == rule_id)
        row = (await self._conn.execute(query.with_for_update() if for_update else query)).first()
        return _rule_of(row) if row else None

    async def rules(self, *, active_only: bool = False) -> list[StoredRule]:
        query = select(price_rules).order_by(price_rules.c.rule_id)
        if active_only:
            query = query.where(price_rules.c.active)
        return [_rule_of(row) for row in await self._conn.execute(query)]

    async def save_rule(self, stored: StoredRule) -> None:
        r = stored.rule
        row = dict(
            rule_id=r.rule_id, basis_points=stored.basis_points, priority=r.priority,
            skus=sorted(r.skus) if r.skus is not None else None,
            valid_from=r.valid_from, valid_until=r.valid_until,
            stock_at_most=r.stock_at_most, stock_at_least=r.stock_at_least,
            floor_minor=r.floor_minor, cap_minor=r.cap_minor,
            active=stored.active, revision=stored.revision,
        )  # fmt: skip
        await self._conn.execute(_upsert(price_rules, "rule_id", row))

    async def groups_of(
        self, customer_id: str, *, for_update: bool = False
    ) -> tuple[list[str], int]:
        """The customer's price groups and their revision (none yet: ``[], 0``)."""
        query = select(customer_price_groups).where(
            customer_price_groups.c.customer_id == customer_id
        )
        row = (await self._conn.execute(query.with_for_update() if for_update else query)).first()
        return (list(row.groups), row.revision) if row else ([], 0)

    async def save_groups(self, customer_id: str, groups: Sequence[str], revision: int) -> None:
        row = dict(customer_id=customer_id, groups=list(groups), revision=revision)
        await self._conn.execute(_upsert(customer_price_groups, "customer_id", row))
