"""Products and their prices.

A product is identified by its SKU for life: it is created once (publishing it) and
later only repriced. Money is integer minor units plus an ISO currency, as on the wire.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime


class UnknownProduct(Exception):
    """No product has this SKU."""

    def __init__(self, sku: str) -> None:
        super().__init__(f"unknown SKU {sku!r}")
        self.sku = sku


@dataclass(frozen=True)
class Product:
    sku: str
    name: str
    price_minor: int
    currency: str
    active: bool = True
    updated_at: datetime | None = None

    def reprice(self, price_minor: int, currency: str, at: datetime) -> Product | None:
        """The repriced product, or None when the price is already this one.

        None lets a repeated PUT be a no-op that emits nothing, so consumers never see a
        PriceChanged that changed nothing.
        """
        if (price_minor, currency) == (self.price_minor, self.currency):
            return None
        return replace(self, price_minor=price_minor, currency=currency, updated_at=at)
