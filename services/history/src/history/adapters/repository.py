"""Explicit row <-> OrderHistory mapping, and the queries of the read model (HTTP, the
rebuild tool; the consumer writes through the batch store)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import and_, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from history.adapters.tables import order_history
from history.domain.projection import Delivery, Fulfilment, Line, OrderHistory, Status


def lines_data(lines: tuple[Line, ...] | None) -> list[dict[str, Any]] | None:
    """The ``lines`` column's JSON (shared by this repository and the batch store)."""
    if lines is None:
        return None
    return [
        {
            "sku": line.sku,
            "quantity": line.quantity,
            "unit_price_minor": line.unit_price_minor,
            "currency": line.currency,
            "price_source": line.price_source,
            "price_rule": line.price_rule,
            "discount_minor": line.discount_minor,
            "promotions": list(line.promotions),
        }
        for line in lines
    ]


def delivery_data(delivery: Delivery | None) -> dict[str, Any] | None:
    """The ``delivery`` column's JSON (shared by this repository and the batch store)."""
    return None if delivery is None else dataclasses.asdict(delivery)


def row_of(history: OrderHistory) -> dict[str, Any]:
    return {
        "order_id": history.order_id,
        "customer_id": history.customer_id,
        "placed_at": history.placed_at,
        "total_minor": history.total_minor,
        "currency": history.currency,
        "lines": lines_data(history.lines),
        "delivery": delivery_data(history.delivery),
        "status": history.status.value,
        "reason": history.reason,
        "status_at": history.status_at,
        "fulfilment": history.fulfilment.value,
        "updated_at": history.updated_at,
        "events_applied": history.events_applied,
    }


class Row(Protocol):
    """A row by column name: SQLAlchemy's RowMapping, or an asyncpg Record."""

    def __getitem__(self, key: str, /) -> Any: ...


def history_of(row: Row) -> OrderHistory:
    lines, delivery = row["lines"], row["delivery"]
    return OrderHistory(
        order_id=row["order_id"],
        status=Status(row["status"]),
        status_at=row["status_at"],
        fulfilment=Fulfilment(row["fulfilment"]),
        updated_at=row["updated_at"],
        events_applied=row["events_applied"],
        reason=row["reason"],
        customer_id=row["customer_id"],
        placed_at=row["placed_at"],
        total_minor=row["total_minor"],
        currency=row["currency"],
        lines=None if lines is None else tuple(_line(line) for line in lines),
        delivery=None if delivery is None else Delivery(**delivery),
    )


@dataclass(frozen=True)
class CustomerOrders:
    """Which of a customer's orders to list: of these statuses (any when empty), placed
    in [``placed_from``, ``placed_to``), after the (placed_at, order_id) of ``after``."""

    statuses: frozenset[Status] = frozenset()
    placed_from: datetime | None = None
    placed_to: datetime | None = None
    after: tuple[datetime, str] | None = None


class OrderHistoryRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def get(self, order_id: str) -> OrderHistory | None:
        query = select(order_history).where(order_history.c.order_id == order_id)
        row = (await self._conn.execute(query)).mappings().first()
        return history_of(row) if row else None

    async def add_all(self, histories: Iterable[OrderHistory]) -> int:
        """Insert rows in bulk (a rebuild into a fresh table)."""
        rows = [row_of(h) for h in histories]
        if rows:
            await self._conn.execute(insert(order_history), rows)
        return len(rows)

    async def of_customer(
        self, customer_id: str, limit: int, where: CustomerOrders | None = None
    ) -> list[OrderHistory]:
        """The customer's orders, newest placed first (ties by order id), that pass
        ``where``; at most ``limit`` (keyset paging: ``where.after``, the last row of the
        previous page, so a page never repeats or skips a row as new orders arrive)."""
        h = order_history.c
        query = select(order_history).where(h.customer_id == customer_id)
        where = where or CustomerOrders()
        if where.statuses:
            query = query.where(h.status.in_(sorted(s.value for s in where.statuses)))
        if where.placed_from is not None:
            query = query.where(h.placed_at >= where.placed_from)
        if where.placed_to is not None:
            query = query.where(h.placed_at < where.placed_to)
        if where.after is not None:
            at, order_id = where.after
            later = and_(h.placed_at == at, h.order_id > order_id)
            query = query.where(or_(h.placed_at < at, later))
        query = query.order_by(h.placed_at.desc(), h.order_id).limit(limit)
        return [history_of(row) for row in (await self._conn.execute(query)).mappings()]

    async def all(self) -> list[OrderHistory]:
        query = select(order_history).order_by(order_history.c.order_id)
        return [history_of(row) for row in (await self._conn.execute(query)).mappings()]


def _line(data: dict[str, Any]) -> Line:
    """A stored line (lines stored before promotions had no discount)."""
    return Line(**(data | {"promotions": tuple(data.get("promotions", ()))}))
