"""orders.events (key: order id): the outcome of each order's saga."""

from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints

from orderflow_contracts.common import MinorUnits, OrderId
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


EVENTS: tuple[type[Message], ...] = (
    OrderConfirmed,
    OrderCompleted,
    OrderRejected,
    OrderCancelled,
    OrderCompensationFailed,
)
