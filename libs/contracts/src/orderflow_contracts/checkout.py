"""checkout.events (key: order id)."""

from __future__ import annotations

from typing import Annotated

from pydantic import AwareDatetime, Field, StringConstraints

from orderflow_contracts.common import Address, Currency, MinorUnits, OrderId, PricedLine
from orderflow_messaging.registry import Message


class OrderPlaced(Message):
    TYPE = "OrderPlaced"
    VERSION = 1
    order_id: OrderId
    customer_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    lines: Annotated[list[PricedLine], Field(min_length=1, max_length=100)]
    currency: Currency
    total_minor: MinorUnits
    shipping_address: Address
    # A gateway token (tok_...), never card data.
    payment_token: Annotated[str, StringConstraints(pattern=r"^tok_[a-z0-9_]{1,60}$")]
    placed_at: AwareDatetime


MESSAGES: tuple[type[Message], ...] = (OrderPlaced,)
