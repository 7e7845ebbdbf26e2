"""Explicit row <-> domain mapping for the catalog copy and orders."""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import literal, select, true, union_all
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from checkout.adapters.tables import (
    catalog_items,
    customer_price_groups,
    delivery_methods,
    orders,
    price_lists,
    price_rules,
    promotions,
    stock_levels,
)
from checkout.domain.model import (
    CatalogItem,
    Order,
    OrderDelivery,
    OrderDiscount,
    OrderLine,
    OrderStatus,
)
from orderflow_messaging.sql import insert_or_ignore
from orderflow_pricing import PickupPoint


def _item(row: Any) -> CatalogItem:
    return CatalogItem(
        row.sku, row.name, row.price_minor, row.currency, row.active,
        components_of(row.components), row.weight_g,
    )  # fmt: skip


def components_of(data: Any) -> tuple[tuple[str, int], ...]:
    """A stored ``components`` (JSON text from asyncpg's text binding, or a list)."""
    if isinstance(data, str):
        data = json.loads(data)
    return tuple((sku, int(quantity)) for sku, quantity in data or ())


def components_json(item: CatalogItem) -> str | None:
    return json.dumps([list(c) for c in item.components]) if item.components else None


class CatalogRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def items(self, skus: Iterable[str]) -> dict[str, CatalogItem]:
        query = select(catalog_items).where(catalog_items.c.sku.in_(set(skus)))
        return {row.sku: _item(row) for row in await self._conn.execute(query)}

    async def all(self) -> list[CatalogItem]:
        rows = await self._conn.execute(select(catalog_items).order_by(catalog_items.c.sku))
        return [_item(row) for row in rows]

    async def stock_levels(self, skus: Iterable[str]) -> dict[str, int]:
        """The levels inventory last announced for these SKUs (those it announced)."""
        query = select(stock_levels.c.sku, stock_levels.c.available).where(
            stock_levels.c.sku.in_(set(skus))
        )
        return {row.sku: row.available for row in await self._conn.execute(query)}

    async def price_data(self) -> list[tuple[str, str, int, bool]]:
        """(kind, id, revision, active) of every price list, rule, customer's groups,
        promotion and delivery method in the copy."""
        lists, rules, groups = price_lists.c, price_rules.c, customer_price_groups.c
        promos, methods = promotions.c, delivery_methods.c
        query = union_all(
            select(literal("list").label("kind"), lists.list_id.label("id"),
                   lists.revision, lists.active),
            select(literal("rule"), rules.rule_id, rules.revision, rules.active),
            select(literal("customer"), groups.customer_id, groups.revision, true()),
            select(literal("promotion"), promos.promotion_id, promos.revision, promos.active),
            select(literal("delivery"), methods.method_id, methods.revision, methods.active),
        ).order_by("kind", "id")  # fmt: skip
        return [(k, i, r, a) for k, i, r, a in await self._conn.execute(query)]

    async def upsert(self, item: CatalogItem, changed_at: datetime) -> bool:
        """Insert or overwrite; False when the stored row is newer than ``changed_at``."""
        values = {
            "name": item.name,
            "price_minor": item.price_minor,
            "currency": item.currency,
            "active": item.active,
            "updated_at": changed_at,
            "components": [list(c) for c in item.components] or None,
            "weight_g": item.weight_g,
        }
        statement = insert(catalog_items).values(sku=item.sku, **values)
        result = await self._conn.execute(
            statement.on_conflict_do_update(
                index_elements=["sku"],
                set_=values,
                where=catalog_items.c.updated_at <= statement.excluded.updated_at,
            )
        )
        return bool(result.rowcount)


def line_json(line: OrderLine) -> dict[str, Any]:
    """An order line as stored (``lines`` JSONB of ``orders``)."""
    return {
        "sku": line.sku, "quantity": line.quantity, "unit_price_minor": line.unit_price_minor,
        "price_source": line.price_source, "price_rule": line.price_rule,
        "discounts": [list(share) for share in line.discounts],
        **({"components": [list(c) for c in line.components]} if line.components else {}),
    }  # fmt: skip


def line_of(data: dict[str, Any]) -> OrderLine:
    """A stored order line (those stored before prices had sources: the base price)."""
    return OrderLine(
        data["sku"], int(data["quantity"]), int(data["unit_price_minor"]),
        data.get("price_source", "base"), data.get("price_rule"),
        tuple((pid, int(amount)) for pid, amount in data.get("discounts", ())),
        components_of(data.get("components")),
    )  # fmt: skip


def discounts_json(order: Order) -> list[dict[str, Any]]:
    """The ``discounts`` JSONB of ``orders``."""
    return [dataclasses.asdict(d) for d in order.discounts]


def discounts_of(data: Any) -> tuple[OrderDiscount, ...]:
    return tuple(OrderDiscount(**d) for d in data or ())


def delivery_json(delivery: OrderDelivery | None) -> str | None:
    """The ``delivery`` JSONB of ``orders`` as JSON text (null: none chosen)."""
    return None if delivery is None else json.dumps(dataclasses.asdict(delivery))


def delivery_of(data: Any) -> OrderDelivery | None:
    if isinstance(data, str):
        data = json.loads(data)
    if data is None:
        return None
    point = data.get("pickup_point")
    return OrderDelivery(**(data | {"pickup_point": PickupPoint(**point) if point else None}))


def _order(row: Any) -> Order:
    return Order(
        order_id=str(row.order_id),
        idempotency_key=row.idempotency_key,
        request_fingerprint=row.request_fingerprint,
        customer_id=row.customer_id,
        lines=tuple(line_of(line) for line in row.lines),
        currency=row.currency,
        total_minor=row.total_minor,
        status=OrderStatus(row.status),
        created_at=row.created_at,
        discounts=discounts_of(row.discounts),
        delivery=delivery_of(row.delivery),
    )


class OrderRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def get(self, order_id: uuid.UUID) -> Order | None:
        query = select(orders).where(orders.c.order_id == order_id)
        row = (await self._conn.execute(query)).first()
        return _order(row) if row else None

    async def by_idempotency_key(self, key: str) -> Order | None:
        query = select(orders).where(orders.c.idempotency_key == key)
        row = (await self._conn.execute(query)).first()
        return _order(row) if row else None

    async def add(self, order: Order) -> bool:
        """Insert; False when the key is taken. A concurrent insert with the same key makes
        this wait for that transaction: if it commits, nothing is inserted here and the
        caller's next read (a fresh snapshot under READ COMMITTED) sees its order."""
        row = dict(
            order_id=uuid.UUID(order.order_id),
            idempotency_key=order.idempotency_key,
            request_fingerprint=order.request_fingerprint,
            customer_id=order.customer_id,
            total_minor=order.total_minor,
            currency=order.currency,
            lines=[line_json(line) for line in order.lines],
            status=order.status.value,
            created_at=order.created_at,
            discounts=discounts_json(order),
            delivery=dataclasses.asdict(order.delivery) if order.delivery else None,
        )
        result = await self._conn.execute(insert_or_ignore(orders, row, ["idempotency_key"]), row)
        return bool(result.rowcount)
