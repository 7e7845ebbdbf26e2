"""Explicit row <-> domain mapping for stock items and reservations."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from inventory.adapters.tables import reservations, stock_items
from inventory.domain.model import Reservation, ReservationStatus, StockItem
from orderflow_messaging.sql import insert_or_ignore


def _item(row: Any) -> StockItem:
    return StockItem(row.sku, row.initial, row.available, row.reserved, row.committed, row.revision)


class StockRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def lock(self, skus: Iterable[str]) -> dict[str, StockItem]:
        """Row-lock the SKUs in a fixed (sorted) order, so two orders never deadlock."""
        query = (
            select(stock_items)
            .where(stock_items.c.sku.in_(sorted(set(skus))))
            .order_by(stock_items.c.sku)
            .with_for_update()
        )
        return {row.sku: _item(row) for row in await self._conn.execute(query)}

    async def get(self, sku: str) -> StockItem | None:
        row = (
            await self._conn.execute(select(stock_items).where(stock_items.c.sku == sku))
        ).first()
        return _item(row) if row else None

    async def all(self) -> list[StockItem]:
        rows = await self._conn.execute(select(stock_items).order_by(stock_items.c.sku))
        return [_item(row) for row in rows]

    async def save(self, items: Iterable[StockItem]) -> None:
        for item in items:
            await self._conn.execute(
                update(stock_items)
                .where(stock_items.c.sku == item.sku)
                .values(
                    initial=item.initial,
                    available=item.available,
                    reserved=item.reserved,
                    committed=item.committed,
                    revision=item.revision,
                    updated_at=func.now(),
                )
            )

    async def add_if_missing(self, item: StockItem) -> bool:
        """Insert; False when the SKU exists (its row is left as it is)."""
        row = dict(
            sku=item.sku, initial=item.initial, available=item.available,
            reserved=item.reserved, committed=item.committed, revision=item.revision,
        )  # fmt: skip
        result = await self._conn.execute(insert_or_ignore(stock_items, row, ["sku"]), row)
        return bool(result.rowcount)

    async def unannounced(self, limit: int) -> list[StockItem]:
        """Rows never announced (revision 0), locked; rows another transaction holds
        are skipped (it will announce them)."""
        query = (
            select(stock_items)
            .where(stock_items.c.revision == 0)
            .order_by(stock_items.c.sku)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return [_item(row) for row in await self._conn.execute(query)]


class ReservationRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def get_for_update(self, order_id: str) -> Reservation | None:
        query = select(reservations).where(reservations.c.order_id == order_id).with_for_update()
        row = (await self._conn.execute(query)).first()
        if row is None:
            return None
        return Reservation(
            order_id=row.order_id,
            status=ReservationStatus(row.status),
            lines={sku: int(qty) for sku, qty in row.lines.items()},
            expires_at=row.expires_at,
            reason=row.reason,
        )

    async def add(self, reservation: Reservation) -> bool:
        """Insert; False when the order already has a reservation (a concurrent duplicate)."""
        row = dict(
            order_id=reservation.order_id,
            status=reservation.status.value,
            lines=reservation.lines,
            reason=reservation.reason,
            expires_at=reservation.expires_at,
        )
        result = await self._conn.execute(insert_or_ignore(reservations, row, ["order_id"]), row)
        return bool(result.rowcount)

    async def set_status(
        self, order_id: str, status: ReservationStatus, reason: str | None
    ) -> None:
        await self._conn.execute(
            update(reservations)
            .where(reservations.c.order_id == order_id)
            .values(status=status.value, reason=reason, updated_at=func.now())
        )

    async def expired(self, now: datetime, limit: int) -> list[str]:
        query = (
            select(reservations.c.order_id)
            .where(
                reservations.c.status == ReservationStatus.RESERVED.value,
                reservations.c.expires_at < now,
            )
            .order_by(reservations.c.expires_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return [row.order_id for row in await self._conn.execute(query)]
