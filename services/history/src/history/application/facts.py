"""Contract messages -> projection facts. Shared by the live consumer and by
``orderflow replay projection order-history``, so both read the topics the same way."""

from __future__ import annotations

from datetime import datetime

from history.domain.projection import (
    Delivery,
    Fact,
    Fulfilment,
    Line,
    Placed,
    ShipmentProgressed,
    Status,
    StatusReached,
)
from orderflow_contracts import topics
from orderflow_contracts.checkout import OrderPlaced
from orderflow_contracts.orders import (
    OrderCancelled,
    OrderCompensationFailed,
    OrderCompleted,
    OrderConfirmed,
    OrderRejected,
)
from orderflow_contracts.shipping import ShipmentDelivered, ShipmentDispatched
from orderflow_messaging.registry import Message

TOPICS = (topics.CHECKOUT_EVENTS, topics.ORDERS_EVENTS, topics.SHIPPING_EVENTS)

# The other types on these topics (ShipmentCreated, ...) say nothing the history shows.
HANDLED: tuple[type[Message], ...] = (
    OrderPlaced,
    OrderConfirmed,
    OrderCompleted,
    OrderRejected,
    OrderCancelled,
    OrderCompensationFailed,
    ShipmentDispatched,
    ShipmentDelivered,
)


def fact_of(message: Message, at: datetime) -> Fact | None:
    """The fact a message states, or None for a type the projection ignores.

    ``message`` is the newest version (the registry upcasts OrderPlaced v1 and v2 to v3);
    ``at`` is the envelope's ``occurred_at``."""
    match message:
        case OrderPlaced():
            return _placed(message, at)
        case OrderConfirmed(order_id=order_id):
            return StatusReached(order_id, at, Status.CONFIRMED)
        case OrderCompleted(order_id=order_id):
            return StatusReached(order_id, at, Status.COMPLETED)
        case OrderRejected(order_id=order_id, reason=reason):
            return StatusReached(order_id, at, Status.REJECTED, reason)
        case OrderCancelled(order_id=order_id, reason=reason):
            return StatusReached(order_id, at, Status.CANCELLED, reason)
        case OrderCompensationFailed(order_id=order_id, reason=reason):
            return StatusReached(order_id, at, Status.COMPENSATION_FAILED, reason)
        case ShipmentDispatched(order_id=order_id):
            return ShipmentProgressed(order_id, at, Fulfilment.DISPATCHED)
        case ShipmentDelivered(order_id=order_id):
            return ShipmentProgressed(order_id, at, Fulfilment.DELIVERED)
    return None


def _placed(message: OrderPlaced, at: datetime) -> Placed:
    lines = tuple(
        Line(
            line.sku,
            line.quantity,
            line.unit_price.amount_minor,
            line.unit_price.currency,
            line.price_source,
            line.price_rule,
            line.discount_minor,
            tuple(line.promotions),
        )
        for line in message.lines
    )
    return Placed(
        order_id=message.order_id,
        occurred_at=at,
        customer_id=message.customer_id,
        placed_at=message.placed_at,
        total_minor=message.total.amount_minor,
        currency=message.total.currency,
        lines=lines,
        delivery=_delivery(message),
    )


def _delivery(message: OrderPlaced) -> Delivery | None:
    chosen = message.delivery
    if chosen is None:
        return None
    return Delivery(
        chosen.method_id, chosen.kind, chosen.carrier, chosen.price_minor, chosen.pickup_point
    )
