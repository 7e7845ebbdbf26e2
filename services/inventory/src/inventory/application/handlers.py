"""Inventory use cases. Every command is answered, also when it is a resend: the saga
retries commands after a timeout and needs the reply, never a second effect."""

from __future__ import annotations

from datetime import timedelta

import structlog

from inventory.application.unit_of_work import InventoryUnitOfWork
from inventory.domain.model import (
    Reservation,
    ReservationStatus,
    decide_reservation,
    merge_lines,
)
from orderflow_contracts import topics
from orderflow_contracts.common import StockLine
from orderflow_contracts.inventory import (
    CommitStock,
    ReleaseStock,
    ReserveStock,
    StockCommitted,
    StockReleased,
    StockReservationFailed,
    StockReserved,
)
from orderflow_messaging.errors import PermanentFailure
from orderflow_messaging.registry import Message

log = structlog.get_logger(__name__)


async def _reply(uow: InventoryUnitOfWork, message: Message, order_id: str) -> None:
    await uow.outbox.put(topics.INVENTORY_EVENTS, message, correlation_id=order_id)


def _reserved(reservation: Reservation) -> StockReserved:
    lines = [StockLine(sku=s, quantity=q) for s, q in sorted(reservation.lines.items())]
    return StockReserved(order_id=reservation.order_id, lines=lines)


async def reserve_stock(uow: InventoryUnitOfWork, cmd: ReserveStock, ttl: timedelta) -> None:
    existing = await uow.reservations.get_for_update(cmd.order_id)
    if existing is not None:
        await _answer_again(uow, existing)
        return
    lines = merge_lines([(line.sku, line.quantity) for line in cmd.lines])
    items = await uow.stock.lock(lines)
    decision = decide_reservation(cmd.order_id, lines, items, uow.clock() + ttl)
    if not await uow.reservations.add(decision.reservation):
        raise RuntimeError(f"concurrent reservation for {cmd.order_id}; retrying")
    await uow.stock.save(decision.items.values())
    if decision.unavailable:
        log.info(
            "stock_reservation_failed", order_id=cmd.order_id, unavailable=decision.unavailable
        )
        failed = StockReservationFailed(
            order_id=cmd.order_id, reason="insufficient stock", unavailable=decision.unavailable
        )
        await _reply(uow, failed, cmd.order_id)
        return
    log.info("stock_reserved", order_id=cmd.order_id, skus=len(lines))
    await _reply(uow, _reserved(decision.reservation), cmd.order_id)


async def _answer_again(uow: InventoryUnitOfWork, reservation: Reservation) -> None:
    if reservation.status in (ReservationStatus.RESERVED, ReservationStatus.COMMITTED):
        await _reply(uow, _reserved(reservation), reservation.order_id)
        return
    unavailable = (
        sorted(reservation.lines) if reservation.status is ReservationStatus.REJECTED else []
    )
    failed = StockReservationFailed(
        order_id=reservation.order_id,
        reason=reservation.reason or f"reservation is {reservation.status.value}",
        unavailable=unavailable,
    )
    await _reply(uow, failed, reservation.order_id)


async def release_stock(uow: InventoryUnitOfWork, cmd: ReleaseStock) -> None:
    reservation = await uow.reservations.get_for_update(cmd.order_id)
    if reservation is None:
        # Released before it was ever made: remember, so a late ReserveStock is refused.
        tombstone = Reservation(cmd.order_id, ReservationStatus.RELEASED, {}, None, cmd.reason)
        await uow.reservations.add(tombstone)
    elif reservation.status in (ReservationStatus.RESERVED, ReservationStatus.COMMITTED):
        items = await uow.stock.lock(reservation.lines)
        was_committed = reservation.status is ReservationStatus.COMMITTED
        await uow.stock.save(
            items[sku].restock_committed(qty) if was_committed else items[sku].release(qty)
            for sku, qty in reservation.lines.items()
        )
        await uow.reservations.set_status(cmd.order_id, ReservationStatus.RELEASED, cmd.reason)
        log.info("stock_released", order_id=cmd.order_id, restocked=was_committed)
    await _reply(uow, StockReleased(order_id=cmd.order_id), cmd.order_id)


async def commit_stock(uow: InventoryUnitOfWork, cmd: CommitStock) -> None:
    reservation = await uow.reservations.get_for_update(cmd.order_id)
    if reservation is None or reservation.status not in (
        ReservationStatus.RESERVED,
        ReservationStatus.COMMITTED,
    ):
        state = reservation.status.value if reservation else "missing"
        raise PermanentFailure(f"cannot commit stock of {cmd.order_id}: reservation is {state}")
    if reservation.status is ReservationStatus.RESERVED:
        items = await uow.stock.lock(reservation.lines)
        await uow.stock.save(items[s].commit(q) for s, q in reservation.lines.items())
        await uow.reservations.set_status(cmd.order_id, ReservationStatus.COMMITTED, None)
        log.info("stock_committed", order_id=cmd.order_id)
    await _reply(uow, StockCommitted(order_id=cmd.order_id), cmd.order_id)


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
