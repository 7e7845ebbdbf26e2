"""What checkout knows: its copy of the catalog, order requests and the orders placed.

An order request (a draft) is what the customer asked for, unchecked. An order is a
draft that passed the rules and was priced from the local catalog copy at that moment;
its prices never change afterwards, whatever the catalog does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


@dataclass(frozen=True)
class CatalogItem:
    sku: str
    name: str
    price_minor: int
    currency: str
    active: bool = True


@dataclass(frozen=True)
class AddressDraft:
    name: str
    line1: str
    city: str
    postcode: str
    country: str


@dataclass(frozen=True)
class LineDraft:
    sku: str
    quantity: int


@dataclass(frozen=True)
class OrderDraft:
    customer_id: str
    lines: tuple[LineDraft, ...]
    shipping_address: AddressDraft
    payment_token: str
    currency: str = "EUR"


@dataclass(frozen=True)
class Problem:
    """One reason a request is refused: ``field`` is a path such as ``lines[1].sku``."""

    field: str
    reason: str


@dataclass(frozen=True)
class OrderLine:
    sku: str
    quantity: int
    unit_price_minor: int
    # What priced it (orderflow_pricing's Resolution.source: "contract:<list>",
    # "group:<list>", "default:<list>" or "base") and the rule that changed it, if any.
    price_source: str = "base"
    price_rule: str | None = None

    @property
    def total_minor(self) -> int:
        return self.quantity * self.unit_price_minor


@dataclass(frozen=True)
class PricedOrder:
    lines: tuple[OrderLine, ...]
    currency: str
    total_minor: int


class OrderStatus(StrEnum):
    PLACED = "placed"


@dataclass(frozen=True)
class Order:
    """Checkout's record of a placed order (no address, no token: those only travel on)."""

    order_id: str
    idempotency_key: str
    request_fingerprint: str
    customer_id: str
    lines: tuple[OrderLine, ...]
    currency: str
    total_minor: int
    status: OrderStatus
    created_at: datetime
