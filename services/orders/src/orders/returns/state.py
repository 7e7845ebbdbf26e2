"""What a return knows. Immutable: transitions return a new state.

A return's life (each status but the waiting one has one command in flight)::

    approved --label--> label_issued --received--> received --refund--> refunded
        --restock--> completed
    (rejected: by the policy, at once; nothing was done)
    approved | label_issued --cancel / parcel not in time--> cancelling --> cancelled
    approved --label refused--> cancelled
    received | refunded | cancelling --out of retries--> failed (a person settles it)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any


class ReturnStatus(StrEnum):
    APPROVED = "approved"
    REJECTED = "rejected"
    LABEL_ISSUED = "label_issued"
    RECEIVED = "received"
    REFUNDED = "refunded"
    COMPLETED = "completed"
    CANCELLING = "cancelling"
    CANCELLED = "cancelled"
    FAILED = "failed"

    @property
    def terminal(self) -> bool:
        return self in _TERMINAL

    @property
    def open(self) -> bool:
        """Still counts against what may be returned of the order."""
        return self not in (ReturnStatus.REJECTED, ReturnStatus.CANCELLED)


def _share(discount: int, units: int, of: int) -> int:
    return -(-discount * units // of)


_TERMINAL = frozenset(
    {ReturnStatus.REJECTED, ReturnStatus.COMPLETED, ReturnStatus.CANCELLED, ReturnStatus.FAILED}
)

SELLABLE = "sellable"
DAMAGED = "damaged"


@dataclass(frozen=True)
class ReturnLine:
    """Units of one order line to return, priced as the order charged them: the unit
    price and the line's discount (``line_quantity`` units shared it)."""

    sku: str
    quantity: int
    unit_price_minor: int
    line_quantity: int
    line_discount_minor: int = 0
    # A bundle: the (SKU, quantity) one unit is made of (what goes back to stock).
    components: tuple[tuple[str, int], ...] = ()
    line_no: int = 0  # the order line's position (a SKU may be on two lines)

    def discount_share(self, units: int, before: int = 0) -> int:
        """The part of the line's discount on ``units`` of it, when ``before`` units of
        the line were refunded already: the rounded-up share of all of them less that of
        those before. Rounded up in the shop's favour, and cumulative, so a line refunded
        in parts gives back exactly its discount in all, never more."""
        return _share(self.line_discount_minor, before + units, self.line_quantity) - _share(
            self.line_discount_minor, before, self.line_quantity
        )

    def refund_minor(self, units: int, before: int = 0) -> int:
        return units * self.unit_price_minor - self.discount_share(units, before)

    def stock(self, units: int) -> tuple[tuple[str, int], ...]:
        if not self.components:
            return ((self.sku, units),)
        return tuple((sku, quantity * units) for sku, quantity in self.components)


@dataclass(frozen=True)
class ReceivedLine:
    """What the warehouse found in the parcel: units of a SKU in one condition."""

    sku: str
    quantity: int
    condition: str  # SELLABLE (restocked) or DAMAGED (written off)


@dataclass(frozen=True)
class ReturnCase:
    return_id: str
    order_id: str
    customer_id: str
    currency: str
    # Where the label collects from (where the order went) and the carrier that took it.
    address: dict[str, str]
    carrier: str | None
    lines: tuple[ReturnLine, ...]
    status: ReturnStatus
    reason: str  # the customer's
    requested_at: datetime
    attempt: int = 0
    deadline: datetime | None = None
    # Why it was rejected, cancelled or failed.
    outcome: str | None = None
    tracking_number: str | None = None
    received: tuple[ReceivedLine, ...] = ()
    refund_minor: int = 0
    # Per order line (by position): units other returns had refunded when this one's
    # parcel came (its refund's discount shares continue from there).
    before: tuple[tuple[int, int], ...] = ()
    version: int = 0

    def evolve(self, **changes: Any) -> ReturnCase:
        return replace(self, **changes)

    def line(self, sku: str) -> ReturnLine | None:
        return next((line for line in self.lines if line.sku == sku), None)

    def allocate(self, received: Sequence[ReceivedLine]) -> list[tuple[ReturnLine, int]]:
        """Received units of each SKU to the return's lines of it, in order."""
        units: dict[str, int] = {}
        for got in received:
            units[got.sku] = units.get(got.sku, 0) + got.quantity
        shares = []
        for line in self.lines:
            take = min(line.quantity, units.get(line.sku, 0))
            if take:
                shares.append((line, take))
                units[line.sku] -= take
        return shares

    def refunds(self) -> list[tuple[ReturnLine, int, int]]:
        """Each line's received units and what they refund (the discount shares
        continuing from ``before``)."""
        before = dict(self.before)
        return [
            (line, units, line.refund_minor(units, before.get(line.line_no, 0)))
            for line, units in self.allocate(self.received)
        ]

    def held(self) -> list[tuple[ReturnLine, int]]:
        """The units of the order this return holds: none once rejected or cancelled,
        those received once its parcel came (the rest may be returned again), else all
        it asked for."""
        if not self.status.open:
            return []
        if self.received:
            return self.allocate(self.received)
        return [(line, line.quantity) for line in self.lines]
