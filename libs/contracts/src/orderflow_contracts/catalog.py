"""catalog.events (key: SKU)."""

from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints

from orderflow_contracts.common import Currency, MinorUnits, Sku
from orderflow_messaging.registry import Message


class ProductPublished(Message):
    TYPE = "ProductPublished"
    VERSION = 1
    sku: Sku
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    price_minor: MinorUnits
    currency: Currency
    active: bool = True


class PriceChanged(Message):
    TYPE = "PriceChanged"
    VERSION = 1
    sku: Sku
    price_minor: MinorUnits
    currency: Currency


MESSAGES: tuple[type[Message], ...] = (ProductPublished, PriceChanged)
