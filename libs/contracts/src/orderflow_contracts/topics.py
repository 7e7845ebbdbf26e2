"""Topic names. Owners publish `<owner>.events` and consume `<owner>.commands`."""

from __future__ import annotations

CATALOG_EVENTS = "catalog.events"
CHECKOUT_EVENTS = "checkout.events"
ORDERS_EVENTS = "orders.events"
ORDERS_INBOUND = "orders.inbound"
ORDERS_INBOUND_REPLIES = "orders.inbound.replies"
INVENTORY_COMMANDS = "inventory.commands"
INVENTORY_EVENTS = "inventory.events"
PAYMENT_COMMANDS = "payment.commands"
PAYMENT_EVENTS = "payment.events"
SHIPPING_COMMANDS = "shipping.commands"
SHIPPING_EVENTS = "shipping.events"

ALL = (
    CATALOG_EVENTS,
    CHECKOUT_EVENTS,
    ORDERS_EVENTS,
    ORDERS_INBOUND,
    ORDERS_INBOUND_REPLIES,
    INVENTORY_COMMANDS,
    INVENTORY_EVENTS,
    PAYMENT_COMMANDS,
    PAYMENT_EVENTS,
    SHIPPING_COMMANDS,
    SHIPPING_EVENTS,
)


def dlq(topic: str) -> str:
    return f"{topic}.dlq"
