"""Stock and reservations.

Per SKU, stock is conserved: ``initial = available + reserved + committed``, where
``initial`` only changes by an explicit restock (or adjustment) and by returned goods
written off. A SKU's ``revision`` counts its
writes (readers of its announced levels keep the highest). A reservation holds every line of one
order or none (all-or-nothing); it ends released, committed or expired.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum


class ReservationStatus(StrEnum):
    RESERVED = "reserved"
    COMMITTED = "committed"
    RELEASED = "released"
    REJECTED = "rejected"
    EXPIRED = "expired"


@dataclass(frozen=True)
class StockItem:
    sku: str
    initial: int
    available: int
    reserved: int = 0
    committed: int = 0
    # 0: stocked but never announced (rows from before levels were announced).
    revision: int = 0

    def reserve(self, quantity: int) -> StockItem:
        if quantity > self.available:
            raise ValueError(f"{self.sku}: {quantity} requested, {self.available} available")
        return replace(self, available=self.available - quantity, reserved=self.reserved + quantity)

    def release(self, quantity: int) -> StockItem:
        return replace(self, available=self.available + quantity, reserved=self.reserved - quantity)

    def commit(self, quantity: int) -> StockItem:
        return replace(self, reserved=self.reserved - quantity, committed=self.committed + quantity)

    def restock_committed(self, quantity: int) -> StockItem:
        """Goods of a cancelled, already committed order go back on the shelf."""
        return replace(
            self, committed=self.committed - quantity, available=self.available + quantity
        )

    def write_off(self, quantity: int) -> StockItem:
        """Returned goods of a committed order that cannot be sold again: they leave the
        stock (``initial`` with them, so stock stays conserved)."""
        return replace(self, committed=self.committed - quantity, initial=self.initial - quantity)

    def adjust(self, new_available: int) -> StockItem:
        if new_available < 0:
            raise ValueError("available stock cannot be negative")
        delta = new_available - self.available
        return replace(self, available=new_available, initial=self.initial + delta)

    def revised(self) -> StockItem:
        """This state as the next write of its (locked) row."""
        return replace(self, revision=self.revision + 1)

    @property
    def conserved(self) -> bool:
        return self.initial == self.available + self.reserved + self.committed


@dataclass(frozen=True)
class Reservation:
    order_id: str
    status: ReservationStatus
    lines: dict[str, int] = field(default_factory=dict)
    expires_at: datetime | None = None
    reason: str | None = None


@dataclass(frozen=True)
class ReservationDecision:
    reservation: Reservation
    items: dict[str, StockItem]
    unavailable: list[str]


def decide_reservation(
    order_id: str,
    lines: dict[str, int],
    items: dict[str, StockItem],
    expires_at: datetime,
) -> ReservationDecision:
    """Reserve every line or none. Unknown SKUs count as unavailable."""
    unavailable = sorted(
        sku for sku, qty in lines.items() if sku not in items or items[sku].available < qty
    )
    if unavailable:
        rejected = Reservation(
            order_id, ReservationStatus.REJECTED, dict(lines), None, "insufficient stock"
        )
        return ReservationDecision(rejected, {}, unavailable)
    changed = {sku: items[sku].reserve(qty) for sku, qty in lines.items()}
    held = Reservation(order_id, ReservationStatus.RESERVED, dict(lines), expires_at)
    return ReservationDecision(held, changed, [])


def merge_lines(pairs: list[tuple[str, int]]) -> dict[str, int]:
    """An order may list a SKU twice; reserve the sum."""
    merged: dict[str, int] = {}
    for sku, qty in pairs:
        merged[sku] = merged.get(sku, 0) + qty
    return merged


RESTOCK = "restock"
WRITE_OFF = "write_off"


@dataclass(frozen=True)
class ReturnReceipt:
    """What one return brought back to a committed order's stock: ``(sku, quantity,
    disposition)`` per line, ``restock`` or ``write_off``. One per return, ever."""

    return_id: str
    order_id: str
    lines: tuple[tuple[str, int, str], ...]


def returnable(reservation: Reservation, receipts: Iterable[ReturnReceipt]) -> dict[str, int]:
    """Per SKU, what of a committed order may still come back: its committed lines less
    every earlier return's."""
    left = dict(reservation.lines)
    for receipt in receipts:
        for sku, quantity, _ in receipt.lines:
            left[sku] = left.get(sku, 0) - quantity
    return left
