"""The consumers' batch stores: PostgreSQL through asyncpg (one statement per table per
batch), and in-memory fakes that pass the same contract tests."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

import asyncpg

from checkout.adapters.price_copy import MemoryPriceCopy, PgPriceCopy
from checkout.adapters.repository import (
    components_json,
    components_of,
    delivery_json,
    delivery_of,
    discounts_json,
    discounts_of,
    line_json,
    line_of,
)
from checkout.application.catalog_copy import CatalogCopy, CopiedItem
from checkout.application.submissions import SubmissionBook
from checkout.domain.model import CatalogItem, Order, OrderStatus
from checkout.domain.pricing import NO_PRICE_DATA
from orderflow_messaging.db import Connection, rows_affected
from orderflow_messaging.jsontext import json_text
from orderflow_messaging.write_plan import WritePlan

_CATALOG_FOR_UPDATE = """
    SELECT sku, name, price_minor, currency, active, components, weight_g, updated_at
    FROM catalog_items WHERE sku = ANY($1::text[]) ORDER BY sku FOR UPDATE
"""
# The time guard keeps a row another transaction inserted meanwhile with a newer change.
_UPSERT_CATALOG = """
    INSERT INTO catalog_items (sku, name, price_minor, currency, active, updated_at,
                               components, weight_g)
    SELECT u.sku, u.name, u.price_minor, u.currency, u.active, u.updated_at,
           u.components::jsonb, u.weight_g
    FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::bool[],
                $6::timestamptz[], $7::text[], $8::int[])
         AS u(sku, name, price_minor, currency, active, updated_at, components, weight_g)
    ON CONFLICT (sku) DO UPDATE
    SET name = excluded.name, price_minor = excluded.price_minor,
        currency = excluded.currency, active = excluded.active,
        updated_at = excluded.updated_at, components = excluded.components,
        weight_g = excluded.weight_g
    WHERE catalog_items.updated_at <= excluded.updated_at
"""
_CATALOG = """
    SELECT sku, name, price_minor, currency, active, components, weight_g FROM catalog_items
    WHERE sku = ANY($1::text[])
"""
_ORDERS = """
    SELECT order_id, idempotency_key, request_fingerprint, customer_id, total_minor,
           currency, lines, status, created_at, discounts, delivery
    FROM orders WHERE idempotency_key = ANY($1::text[])
"""
_INSERT_ORDERS = """
    INSERT INTO orders (order_id, idempotency_key, request_fingerprint, customer_id,
                        total_minor, currency, lines, status, created_at, discounts,
                        delivery)
    SELECT o, k, f, c, t, cur, l::jsonb, s, at, d::jsonb, dl::jsonb
    FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[],
                $7::text[], $8::text[], $9::timestamptz[], $10::text[], $11::text[])
         AS u(o, k, f, c, t, cur, l, s, at, d, dl)
    ON CONFLICT (idempotency_key) DO NOTHING
"""


class ConcurrentSubmission(Exception):
    """Another transaction placed an order under a key of this batch meanwhile (a
    rebalance): the batch fails, and its retry answers with that order."""


def _item(row: asyncpg.Record) -> CatalogItem:
    return CatalogItem(
        row["sku"], row["name"], row["price_minor"], row["currency"], row["active"],
        components_of(row["components"]), row["weight_g"],
    )  # fmt: skip


def _order(row: asyncpg.Record) -> Order:
    return Order(
        order_id=str(row["order_id"]),
        idempotency_key=row["idempotency_key"],
        request_fingerprint=row["request_fingerprint"],
        customer_id=row["customer_id"],
        lines=tuple(line_of(line) for line in row["lines"]),
        currency=row["currency"],
        total_minor=row["total_minor"],
        status=OrderStatus(row["status"]),
        created_at=row["created_at"],
        discounts=discounts_of(row["discounts"]),
        delivery=delivery_of(row["delivery"]),
    )


def _lines_json(order: Order) -> str:
    return json_text([line_json(line) for line in order.lines])


class PgCatalogStore:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def load_for_update(self, skus: Sequence[str]) -> CatalogCopy:
        rows = await self._conn.fetch(_CATALOG_FOR_UPDATE, sorted(skus))
        return CatalogCopy({row["sku"]: CopiedItem(_item(row), row["updated_at"]) for row in rows})

    async def save(self, copy: CatalogCopy) -> None:
        changed = [copy.items[sku] for sku in sorted(copy.changed)]
        if changed:
            await self._conn.execute(
                _UPSERT_CATALOG,
                [c.item.sku for c in changed],
                [c.item.name for c in changed],
                [c.item.price_minor for c in changed],
                [c.item.currency for c in changed],
                [c.item.active for c in changed],
                [c.changed_at for c in changed],
                [components_json(c.item) for c in changed],
                [c.item.weight_g for c in changed],
            )


class PgSubmissionStore:
    """The load never locks (a key's submissions come in order on one partition; a
    concurrent placing under the same key is caught by the insert). For an optimistic
    batch (``plan``) the insert is a part of the batch's one statement, expecting every
    order new."""

    def __init__(self, conn: Connection, plan: WritePlan | None = None) -> None:
        self._conn = conn
        self._plan = plan

    async def load(
        self, idempotency_keys: Sequence[str], skus: Sequence[str], customers: Sequence[str]
    ) -> SubmissionBook:
        orders = await self._conn.fetch(_ORDERS, list(idempotency_keys)) if idempotency_keys else []
        items = await self._conn.fetch(_CATALOG, list(skus)) if skus else []
        prices = await PgPriceCopy(self._conn).load(customers, skus) if skus else NO_PRICE_DATA
        return SubmissionBook(
            catalog={row["sku"]: _item(row) for row in items},
            orders={row["idempotency_key"]: _order(row) for row in orders},
            prices=prices,
        )

    async def save(self, book: SubmissionBook) -> None:
        # In key order, so that two batches inserting the same keys wait, never deadlock.
        placed = sorted(book.placed, key=lambda o: o.idempotency_key)
        args = [
            [uuid.UUID(o.order_id) for o in placed],
            [o.idempotency_key for o in placed],
            [o.request_fingerprint for o in placed],
            [o.customer_id for o in placed],
            [o.total_minor for o in placed],
            [o.currency for o in placed],
            [_lines_json(o) for o in placed],  # JSON text: a list of lists binds as 2-D
            [o.status.value for o in placed],
            [o.created_at for o in placed],
            [json_text(discounts_json(o)) for o in placed],
            [delivery_json(o.delivery) for o in placed],
        ]
        if self._plan is not None:
            self._plan.add(_INSERT_ORDERS, *args, expect=len(placed))
            return
        if not placed:
            return
        status = await self._conn.execute(_INSERT_ORDERS, *args)
        if rows_affected(status) != len(placed):
            raise ConcurrentSubmission("an order of this batch was placed meanwhile")


@dataclass
class MemoryCatalogStore:
    """The fake of ``PgCatalogStore``: the same contract, held in a dict."""

    items: dict[str, CopiedItem] = field(default_factory=dict)

    async def load_for_update(self, skus: Sequence[str]) -> CatalogCopy:
        return CatalogCopy({sku: self.items[sku] for sku in sorted(skus) if sku in self.items})

    async def save(self, copy: CatalogCopy) -> None:
        for sku in copy.changed:
            stored, new = self.items.get(sku), copy.items[sku]
            if stored is None or stored.changed_at <= new.changed_at:
                self.items[sku] = new


@dataclass
class MemorySubmissionStore:
    """The fake of ``PgSubmissionStore``: the same contract, held in dicts."""

    catalog: dict[str, CatalogItem] = field(default_factory=dict)
    orders: dict[str, Order] = field(default_factory=dict)  # by idempotency key
    prices: MemoryPriceCopy = field(default_factory=MemoryPriceCopy)

    async def load(
        self, idempotency_keys: Sequence[str], skus: Sequence[str], customers: Sequence[str]
    ) -> SubmissionBook:
        return SubmissionBook(
            catalog={sku: self.catalog[sku] for sku in skus if sku in self.catalog},
            orders={key: self.orders[key] for key in idempotency_keys if key in self.orders},
            prices=await self.prices.load(customers, skus),
        )

    async def save(self, book: SubmissionBook) -> None:
        if any(order.idempotency_key in self.orders for order in book.placed):
            raise ConcurrentSubmission("an order of this batch was placed meanwhile")
        self.orders |= {order.idempotency_key: order for order in book.placed}
