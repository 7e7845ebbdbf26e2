"""What checkout knows: its copy of the catalog, order requests and the orders placed.

An order request (a draft) is what the customer asked for, unchecked. An order is a
draft that passed the rules and was priced from the local catalog copy at that moment;
its prices never change afterwards, whatever the catalog does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from orderflow_pricing import PickupPoint


@dataclass(frozen=True)
class CatalogItem:
    sku: str
    name: str
    price_minor: int
    currency: str
    active: bool = True
    # A bundle: the (SKU, quantity) one unit of it is made of.
    components: tuple[tuple[str, int], ...] = ()
    weight_g: int | None = None  # one unit's shipping weight (None: unknown, weighs nothing)


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
class DeliveryDraft:
    """The customer's delivery choice: a method and, for a pickup method, its point."""

    method: str
    pickup_point: str | None = None


@dataclass(frozen=True)
class OrderDraft:
    customer_id: str
    lines: tuple[LineDraft, ...]
    shipping_address: AddressDraft
    payment_token: str
    currency: str = "EUR"
    coupons: tuple[str, ...] = ()  # coupon codes, as the customer typed them
    delivery: DeliveryDraft | None = None  # None: no delivery chosen (none charged)


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
    # Taken off ``total_minor`` by promotions: the share of each (promotion id, amount).
    discounts: tuple[tuple[str, int], ...] = ()
    # A bundle's components per unit (what the saga reserves and ships instead).
    components: tuple[tuple[str, int], ...] = ()

    @property
    def total_minor(self) -> int:
        """The line's price before discounts."""
        return self.quantity * self.unit_price_minor

    @property
    def discount_minor(self) -> int:
        return sum(amount for _, amount in self.discounts)


@dataclass(frozen=True)
class OrderDiscount:
    """A promotion applied to an order: what it took off in all, the coupon code it came
    with (None: a cart rule), and whether its uses are counted (the saga redeems it)."""

    promotion_id: str
    code: str | None
    amount_minor: int
    limited: bool


@dataclass(frozen=True)
class OrderDelivery:
    """How the order is delivered and what it costs (part of its total): the method, its
    kind (``home``, or ``pickup`` at ``pickup_point``, where the parcel goes), the
    carrier, the zone and weight it was priced by, ``free`` over the threshold."""

    method_id: str
    kind: str
    carrier: str
    price_minor: int
    zone: str
    weight_g: int
    free: bool = False
    pickup_point: PickupPoint | None = None


@dataclass(frozen=True)
class PricedOrder:
    lines: tuple[OrderLine, ...]
    currency: str
    total_minor: int  # the lines' prices less the discounts plus the delivery
    discounts: tuple[OrderDiscount, ...] = ()
    delivery: OrderDelivery | None = None


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
    discounts: tuple[OrderDiscount, ...] = ()
    delivery: OrderDelivery | None = None
