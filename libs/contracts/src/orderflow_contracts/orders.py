"""orders.events (key: order id): the outcome of each order's saga."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from orderflow_contracts.common import MinorUnits, OrderId, ReturnId, StockLine
from orderflow_messaging.registry import Message

Reason = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class OrderConfirmed(Message):
    """Stock reserved and payment authorized: the order will ship."""

    TYPE = "OrderConfirmed"
    VERSION = 1
    order_id: OrderId


class OrderCompleted(Message):
    TYPE = "OrderCompleted"
    VERSION = 1
    order_id: OrderId
    total_minor: MinorUnits


class OrderRejected(Message):
    TYPE = "OrderRejected"
    VERSION = 1
    order_id: OrderId
    reason: Reason


class OrderCancelled(Message):
    TYPE = "OrderCancelled"
    VERSION = 1
    order_id: OrderId
    reason: Reason


class OrderCompensationFailed(Message):
    TYPE = "OrderCompensationFailed"
    VERSION = 1
    order_id: OrderId
    reason: Reason


ReturnState = Literal[
    "approved", "rejected", "label_issued", "received", "refunded", "completed",
    "cancelling", "cancelled", "failed",
]  # fmt: skip


class ReturnUpdated(Message):
    """A return (RMA) of the order moved: approved (or rejected, with the reasons), its
    label issued (``tracking_number``), its parcel received, refunded (``refund_minor``),
    completed (restocked or written off), cancelled, or failed (a person looks at it).
    ``lines``: the SKUs and quantities the return is about (received: those received)."""

    TYPE = "ReturnUpdated"
    VERSION = 1
    return_id: ReturnId
    order_id: OrderId
    status: ReturnState
    lines: Annotated[list[StockLine], Field(max_length=100)]
    reason: Reason | None = None
    refund_minor: MinorUnits | None = None
    tracking_number: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None


EVENTS: tuple[type[Message], ...] = (
    OrderConfirmed,
    OrderCompleted,
    OrderRejected,
    OrderCancelled,
    OrderCompensationFailed,
    ReturnUpdated,
)
