"""Products over HTTP: read for everyone, create and reprice for merchandisers.

Bodies are validated against the wire contract's types (SKU, currency, minor units)
before any use case runs, so an invalid body is a 422 listing every reason and writes
nothing.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, ConfigDict, StringConstraints
from sqlalchemy.ext.asyncio import AsyncEngine

from catalog.adapters.repository import ProductRepository
from catalog.application import handlers
from catalog.application.unit_of_work import unit_of_work
from catalog.domain.model import Product, UnknownProduct
from orderflow_contracts.common import Currency, MinorUnits, Sku
from orderflow_messaging.clock import Clock
from orderflow_service.http import NO_NUL, Text

_STRICT = ConfigDict(extra="forbid", strict=True)


class ProductView(BaseModel):
    sku: str
    name: str
    price_minor: int
    currency: str
    active: bool


class NewProduct(BaseModel):
    model_config = _STRICT

    sku: Sku
    name: Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=NO_NUL)]
    price_minor: MinorUnits
    currency: Currency
    active: bool = True


class NewPrice(BaseModel):
    model_config = _STRICT

    price_minor: MinorUnits
    currency: Currency


def _view(product: Product) -> ProductView:
    return ProductView(
        sku=product.sku,
        name=product.name,
        price_minor=product.price_minor,
        currency=product.currency,
        active=product.active,
    )


def build_router(engine: AsyncEngine, clock: Clock) -> APIRouter:
    router = APIRouter(prefix="/products", tags=["products"])

    @router.get("")
    async def list_products() -> list[ProductView]:
        async with engine.connect() as conn:
            return [_view(product) for product in await ProductRepository(conn).all()]

    @router.get("/{sku}", responses={404: {"description": "unknown SKU"}})
    async def get_product(sku: Text) -> ProductView:
        async with engine.connect() as conn:
            product = await ProductRepository(conn).get(sku)
        if product is None:
            raise HTTPException(404, f"unknown SKU {sku!r}")
        return _view(product)

    @router.post("", status_code=201, responses={409: {"description": "the SKU exists"}})
    async def create_product(body: NewProduct) -> ProductView:
        """Create a product and publish ProductPublished; an existing SKU is a 409."""
        product = Product(body.sku, body.name, body.price_minor, body.currency, body.active)
        async with unit_of_work(engine, clock) as uow:
            created = await handlers.publish_product(uow, product)
        if not created:
            raise HTTPException(409, f"SKU {body.sku!r} already exists")
        return _view(product)

    @router.put("/{sku}/price", responses={404: {"description": "unknown SKU"}})
    async def change_price(sku: Text, body: NewPrice) -> ProductView:
        """Set the price; PriceChanged is published only when it differs."""
        try:
            async with unit_of_work(engine, clock) as uow:
                product = await handlers.change_price(uow, sku, body.price_minor, body.currency)
        except UnknownProduct as exc:
            raise HTTPException(404, str(exc)) from exc
        return _view(product)

    return router
