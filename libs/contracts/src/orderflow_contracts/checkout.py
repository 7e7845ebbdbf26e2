"""checkout.events (key: order id).

OrderPlaced v2 carries money as amount + currency on every line and the total, and an
optional sales channel. v1 is still accepted everywhere: ``upcast_order_placed_v1``
turns it into v2, so handlers only see v2. OrderCancellationRequested follows its
order's OrderPlaced on the same partition (same key), so the coordinator always knows
the order it names.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AwareDatetime, Field, StringConstraints

from orderflow_contracts.common import (
    Address,
    Currency,
    CustomerId,
    MinorUnits,
    Money,
    OrderDelivery,
    OrderDiscount,
    OrderId,
    PricedLine,
    PricedLineV2,
    PricedLineV3,
    PricedLineV4,
    UpstreamReference,
)
from orderflow_messaging.registry import Message

# A gateway token (tok_...), never card data.
Token = Annotated[str, StringConstraints(pattern=r"^tok_[a-z0-9_]{1,60}$")]
SalesChannel = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class OrderPlacedV1(Message):
    TYPE = "OrderPlaced"
    VERSION = 1
    order_id: OrderId
    customer_id: CustomerId
    lines: Annotated[list[PricedLine], Field(min_length=1, max_length=100)]
    currency: Currency
    total_minor: MinorUnits
    shipping_address: Address
    payment_token: Token
    placed_at: AwareDatetime


class OrderPlacedV2(Message):
    TYPE = "OrderPlaced"
    VERSION = 2
    order_id: OrderId
    customer_id: CustomerId
    lines: Annotated[list[PricedLineV2], Field(min_length=1, max_length=100)]
    total: Money
    shipping_address: Address
    payment_token: Token
    placed_at: AwareDatetime
    sales_channel: SalesChannel | None = None


class OrderPlacedV3(Message):
    """v3: each line says which price list or rule priced it (v2 lines: the base price)."""

    TYPE = "OrderPlaced"
    VERSION = 3
    order_id: OrderId
    customer_id: CustomerId
    lines: Annotated[list[PricedLineV3], Field(min_length=1, max_length=100)]
    total: Money
    shipping_address: Address
    payment_token: Token
    placed_at: AwareDatetime
    sales_channel: SalesChannel | None = None


class OrderPlaced(Message):
    """v4: the promotions applied: each line's discount and the promotions that gave it,
    and the order's ``discounts``; the ``delivery`` chosen (null: none chosen, nothing
    charged for it); ``total`` is the lines' prices less the discounts plus the
    delivery's price (v3 orders had neither)."""

    TYPE = "OrderPlaced"
    VERSION = 4
    order_id: OrderId
    customer_id: CustomerId
    lines: Annotated[list[PricedLineV4], Field(min_length=1, max_length=100)]
    discounts: Annotated[list[OrderDiscount], Field(max_length=10)] = []
    total: Money
    shipping_address: Address
    payment_token: Token
    placed_at: AwareDatetime
    sales_channel: SalesChannel | None = None
    delivery: OrderDelivery | None = None


def upcast_order_placed_v3(payload: dict[str, Any]) -> dict[str, Any]:
    """Orders placed before promotions had no discounts."""
    lines = [line | {"discount_minor": 0, "promotions": []} for line in payload["lines"]]
    return payload | {"lines": lines, "discounts": []}


def upcast_order_placed_v2(payload: dict[str, Any]) -> dict[str, Any]:
    """Orders placed before price lists were priced at the catalog's base price."""
    lines = [line | {"price_source": "base", "price_rule": None} for line in payload["lines"]]
    return payload | {"lines": lines}


def upcast_order_placed_v1(payload: dict[str, Any]) -> dict[str, Any]:
    currency = payload["currency"]
    return {
        "order_id": payload["order_id"],
        "customer_id": payload["customer_id"],
        "lines": [
            {
                "sku": line["sku"],
                "quantity": line["quantity"],
                "unit_price": {"amount_minor": line["unit_price_minor"], "currency": currency},
            }
            for line in payload["lines"]
        ],
        "total": {"amount_minor": payload["total_minor"], "currency": currency},
        "shipping_address": payload["shipping_address"],
        "payment_token": payload["payment_token"],
        "placed_at": payload["placed_at"],
        "sales_channel": None,
    }


class OrderCancellationRequested(Message):
    """An upstream system asked to cancel the order it submitted as ``reference``
    (CancelOrder on orders.inbound). The coordinator decides, by the rules of any
    cancellation (not after dispatch), and answers the upstream on
    orders.inbound.replies."""

    TYPE = "OrderCancellationRequested"
    VERSION = 1
    order_id: OrderId
    reference: UpstreamReference
    reason: Annotated[str, StringConstraints(min_length=1, max_length=200)]


MESSAGES: tuple[type[Message], ...] = (
    OrderPlacedV1, OrderPlacedV2, OrderPlacedV3, OrderPlaced, OrderCancellationRequested,
)  # fmt: skip
UPCASTERS = {
    ("OrderPlaced", 1): upcast_order_placed_v1,
    ("OrderPlaced", 2): upcast_order_placed_v2,
    ("OrderPlaced", 3): upcast_order_placed_v3,
}
