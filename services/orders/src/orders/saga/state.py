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
    # forward, in order
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


FORWARD: tuple[Step, ...] = (
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


@dataclass(frozen=True)
class OrderData:
    """The order as placed: what the commands need."""

    customer_id: str
    lines: tuple[OrderLine, ...]
    currency: str
    total_minor: int
    address: dict[str, str]
    payment_token: str


@dataclass(frozen=True)
class Facts:
    """What the participants confirmed so far."""

    stock_reserved: bool = False
    payment_authorized: bool = False
    payment_captured: bool = False
    shipment_created: bool = False
    shipment_dispatched: bool = False
    shipment_delivered: bool = False
    stock_committed: bool = False


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
    version: int = 0

    def evolve(self, **changes: Any) -> Saga:
        return replace(self, **changes)
