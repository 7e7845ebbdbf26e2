"""Inventory use cases outside the consumer (the consumer's are in ``batch``)."""

from __future__ import annotations

import structlog

from inventory.application.unit_of_work import InventoryUnitOfWork
from inventory.domain.model import (
    ReservationStatus,
)

log = structlog.get_logger(__name__)


async def expire_reservations(uow: InventoryUnitOfWork, limit: int = 100) -> int:
    """Give back stock held by reservations past their expiry; returns how many."""
    expired = await uow.reservations.expired(uow.clock(), limit)
    for order_id in expired:
        reservation = await uow.reservations.get_for_update(order_id)
        if reservation is None or reservation.status is not ReservationStatus.RESERVED:
            continue
        items = await uow.stock.lock(reservation.lines)
        await uow.stock.save(items[s].release(q) for s, q in reservation.lines.items())
        await uow.reservations.set_status(order_id, ReservationStatus.EXPIRED, "expired")
        log.warning("reservation_expired", order_id=order_id)
    return len(expired)
