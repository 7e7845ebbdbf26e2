"""Topic names. Owners publish `<owner>.events` and consume `<owner>.commands`."""

from __future__ import annotations

CATALOG_EVENTS = "catalog.events"
CHECKOUT_EVENTS = "checkout.events"
ORDERS_EVENTS = "orders.events"
ORDERS_INBOUND = "orders.inbound"
ORDERS_INBOUND_REPLIES = "orders.inbound.replies"
INVENTORY_COMMANDS = "inventory.commands"
INVENTORY_EVENTS = "inventory.events"
# Stock levels by SKU, for read models; compacted (the latest level per SKU is kept).
INVENTORY_STOCK = "inventory.stock"
# Coupon redemptions, a saga step the catalog service answers (key: order id).
PROMOTIONS_COMMANDS = "promotions.commands"
PROMOTIONS_EVENTS = "promotions.events"
PAYMENT_COMMANDS = "payment.commands"
PAYMENT_EVENTS = "payment.events"
SHIPPING_COMMANDS = "shipping.commands"
SHIPPING_EVENTS = "shipping.events"
# Every step of a parcel (TrackingUpdated), for customer-facing readers; the saga needs
# only dispatched and delivered (on shipping.events), so it does not read this one.
SHIPPING_TRACKING = "shipping.tracking"

ALL = (
    CATALOG_EVENTS,
    CHECKOUT_EVENTS,
    ORDERS_EVENTS,
    ORDERS_INBOUND,
    ORDERS_INBOUND_REPLIES,
    INVENTORY_COMMANDS,
    INVENTORY_EVENTS,
    INVENTORY_STOCK,
    PROMOTIONS_COMMANDS,
    PROMOTIONS_EVENTS,
    PAYMENT_COMMANDS,
    PAYMENT_EVENTS,
    SHIPPING_COMMANDS,
    SHIPPING_EVENTS,
    SHIPPING_TRACKING,
)

# State topics: the broker keeps the latest record of each key (cleanup.policy=compact),
# so a new reader or a rebuilt projection reads every key's current state from offset 0.
COMPACTED = frozenset({INVENTORY_STOCK})


def dlq(topic: str) -> str:
    return f"{topic}.dlq"
