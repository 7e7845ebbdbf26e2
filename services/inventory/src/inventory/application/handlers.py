"""Inventory use cases outside the consumer (the consumer's are in ``batch``). Each
one that changes a SKU's available quantity announces its level in the same
transaction (``levels``)."""

from __future__ import annotations

import structlog

from inventory.application.levels import announce, announceable
from inventory.application.unit_of_work import InventoryUnitOfWork
from inventory.domain.model import ReservationStatus, StockItem

log = structlog.get_logger(__name__)


async def expire_reservations(uow: InventoryUnitOfWork, limit: int = 100) -> int:
    """Give back stock held by reservations past their expiry; returns how many."""
    expired = await uow.reservations.expired(uow.clock(), limit)
    for order_id in expired:
        reservation = await uow.reservations.get_for_update(order_id)
        if reservation is None or reservation.status is not ReservationStatus.RESERVED:
            continue
        items = await uow.stock.lock(reservation.lines)
        released = [items[s].release(q).revised() for s, q in reservation.lines.items()]
        await uow.stock.save(released)
        await announce(uow.outbox, released)
        await uow.reservations.set_status(order_id, ReservationStatus.EXPIRED, "expired")
        log.warning("reservation_expired", order_id=order_id)
    return len(expired)


async def stock_sku(uow: InventoryUnitOfWork, sku: str, quantity: int) -> bool:
    """Stock a new SKU with ``quantity`` and announce it; False (nothing written) when
    the SKU exists."""
    item = StockItem(sku, quantity, quantity).revised()
    if not await uow.stock.add_if_missing(item):
        return False
    await announce(uow.outbox, [item])
    return True


async def set_available(uow: InventoryUnitOfWork, sku: str, available: int) -> StockItem:
    """A stock count: set the available quantity (a new SKU is stocked with it);
    reserved and committed stay. Announced even when unchanged (a count confirms)."""
    if await stock_sku(uow, sku, available):
        return StockItem(sku, available, available).revised()
    items = await uow.stock.lock([sku])
    counted = items[sku].adjust(available).revised()
    await uow.stock.save([counted])
    await announce(uow.outbox, [counted])
    return counted


async def announce_unannounced(uow: InventoryUnitOfWork, limit: int = 500) -> int:
    """Announce SKUs stocked before levels were announced (revision 0), once each;
    returns how many rows it settled. A row whose SKU no contract can name is settled
    (revision 1) without a level."""
    items = [item.revised() for item in await uow.stock.unannounced(limit)]
    await uow.stock.save(items)
    named = [item for item in items if announceable(item.sku)]
    await announce(uow.outbox, named)
    if items:
        log.info("stock_levels_backfilled", skus=len(named), unnamed=len(items) - len(named))
    return len(items)
