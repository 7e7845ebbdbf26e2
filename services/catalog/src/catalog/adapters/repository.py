"""Explicit row <-> domain mapping for products."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from catalog.adapters.tables import products
from catalog.domain.model import Product
from orderflow_messaging.sql import insert_or_ignore


def _product(row: Any) -> Product:
    return Product(row.sku, row.name, row.price_minor, row.currency, row.active, row.updated_at)


class ProductRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def get(self, sku: str, *, for_update: bool = False) -> Product | None:
        query = select(products).where(products.c.sku == sku)
        if for_update:
            query = query.with_for_update()
        row = (await self._conn.execute(query)).first()
        return _product(row) if row else None

    async def all(self) -> list[Product]:
        rows = await self._conn.execute(select(products).order_by(products.c.sku))
        return [_product(row) for row in rows]

    async def add_if_missing(self, product: Product) -> bool:
        """Insert; False when the SKU exists. A concurrent insert of the same SKU waits
        for the other transaction and then does nothing, so two seeds never both win."""
        row = dict(
            sku=product.sku,
            name=product.name,
            price_minor=product.price_minor,
            currency=product.currency,
            active=product.active,
            updated_at=product.updated_at,
        )
        result = await self._conn.execute(insert_or_ignore(products, row, ["sku"]), row)
        return bool(result.rowcount)

    async def save_price(self, product: Product) -> None:
        await self._conn.execute(
            update(products)
            .where(products.c.sku == product.sku)
            .values(
                price_minor=product.price_minor,
                currency=product.currency,
                updated_at=product.updated_at,
            )
        )
