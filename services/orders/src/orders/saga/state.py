"""What a saga knows about one order. Immutable: transitions return a new state."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any


class SagaStatus(StrEnum):
    RUNNING = "RUNNING"
    COMPENSATING = "COMPENSATING"
    COMPLETED = "COMPLETED"
    REJECTED = "REJECTED"
    CANCELLED = "CANCELLED"
    COMPENSATION_FAILED = "COMPENSATION_FAILED"
    # An operator settled a failed compensation by hand (the reason is their note).
    RESOLVED = "RESOLVED"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL


TERMINAL = frozenset(
    {
        SagaStatus.COMPLETED,
        SagaStatus.REJECTED,
        SagaStatus.CANCELLED,
        SagaStatus.COMPENSATION_FAILED,
        SagaStatus.RESOLVED,
    }
)


class Step(StrEnum):
    # forward, in order (REDEEM_PROMOTIONS only for an order with limited promotions)
    REDEEM_PROMOTIONS = "REDEEM_PROMOTIONS"
    RESERVE_STOCK = "RESERVE_STOCK"
    AUTHORIZE_PAYMENT = "AUTHORIZE_PAYMENT"
    CREATE_SHIPMENT = "CREATE_SHIPMENT"
    CAPTURE_PAYMENT = "CAPTURE_PAYMENT"
    COMMIT_STOCK = "COMMIT_STOCK"
    # compensations
    CANCEL_SHIPMENT = "CANCEL_SHIPMENT"
    VOID_PAYMENT = "VOID_PAYMENT"
    REFUND_PAYMENT = "REFUND_PAYMENT"
    RELEASE_STOCK = "RELEASE_STOCK"
    RELEASE_PROMOTIONS = "RELEASE_PROMOTIONS"


FORWARD: tuple[Step, ...] = (
    Step.REDEEM_PROMOTIONS,
    Step.RESERVE_STOCK,
    Step.AUTHORIZE_PAYMENT,
    Step.CREATE_SHIPMENT,
    Step.CAPTURE_PAYMENT,
    Step.COMMIT_STOCK,
)


@dataclass(frozen=True)
class OrderLine:
    sku: str
    quantity: int
    unit_price_minor: int
    # A bundle: the (SKU, quantity) one unit is made of; reserved and shipped instead.
    components: tuple[tuple[str, int], ...] = ()
    # What the line's promotions took off it (shown on the invoice).
    discount_minor: int = 0

    def stock(self) -> tuple[tuple[str, int], ...]:
        """What this line takes from stock: its SKU, or its bundle's components."""
        if not self.components:
            return ((self.sku, self.quantity),)
        return tuple((sku, quantity * self.quantity) for sku, quantity in self.components)


@dataclass(frozen=True)
class OrderData:
    """The order as placed: what the commands need."""

    customer_id: str
    lines: tuple[OrderLine, ...]
    currency: str
    total_minor: int
    address: dict[str, str]
    payment_token: str
    # The limited promotions applied (their uses are counted): redeemed first, released
    # by any compensation.
    promotions: tuple[str, ...] = ()
    # The delivery method chosen and the carrier it books (None: none chosen, the
    # shipping service's default carrier); ``address`` is then where the parcel goes
    # (a pickup order's: its pickup point).
    delivery_method: str | None = None
    carrier: str | None = None
    delivery_minor: int = 0  # the delivery's price, part of the total


@dataclass(frozen=True)
class Facts:
    """What the participants confirmed so far."""

    promotions_redeemed: bool = False
    stock_reserved: bool = False
    payment_authorized: bool = False
    payment_captured: bool = False
    shipment_created: bool = False
    shipment_dispatched: bool = False
    shipment_delivered: bool = False
    stock_committed: bool = False


@dataclass(frozen=True)
class UpstreamCancel:
    """The answer given to an upstream system's cancellation (CancelOrder under its
    ``reference``): kept, so a resent request gets the same answer."""

    reference: str
    accepted: bool
    refusal: str | None = None


@dataclass(frozen=True)
class Saga:
    order_id: str
    order: OrderData
    status: SagaStatus
    step: Step | None
    attempt: int
    deadline: datetime | None
    facts: Facts = field(default_factory=Facts)
    compensations: tuple[Step, ...] = ()
    reason: str | None = None
    # Compensating a rejection (stock refused after promotions were redeemed): the
    # saga ends REJECTED, not CANCELLED, once the compensations are done.
    rejecting: bool = False
    upstream_cancel: UpstreamCancel | None = None
    # When the coordinator heard of the delivery (a return's window starts then).
    delivered_at: datetime | None = None
    version: int = 0

    def evolve(self, **changes: Any) -> Saga:
        return replace(self, **changes)
