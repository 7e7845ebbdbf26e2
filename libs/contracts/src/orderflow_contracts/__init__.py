"""orderflow message contracts. ``registry()`` knows every type and version."""

from __future__ import annotations

from orderflow_contracts import (
    catalog,
    checkout,
    inbound,
    inventory,
    orders,
    payment,
    promotions,
    shipping,
)
from orderflow_messaging.registry import Message, MessageRegistry


def all_messages() -> tuple[type[Message], ...]:
    return (
        *catalog.MESSAGES,
        *checkout.MESSAGES,
        *inventory.COMMANDS,
        *inventory.EVENTS,
        *inventory.LEVELS,
        *promotions.COMMANDS,
        *promotions.EVENTS,
        *payment.COMMANDS,
        *payment.EVENTS,
        *shipping.COMMANDS,
        *shipping.EVENTS,
        *shipping.TRACKING,
        *orders.EVENTS,
        *inbound.MESSAGES,
    )


def registry() -> MessageRegistry:
    """A registry of every contract (each service consumes a subset; unknown is poison)."""
    reg = MessageRegistry()
    reg.register(*all_messages())
    for (type_, version), upcaster in {**checkout.UPCASTERS, **inbound.UPCASTERS}.items():
        reg.register_upcaster(type_, version, upcaster)
    return reg


__all__ = ["all_messages", "registry"]
