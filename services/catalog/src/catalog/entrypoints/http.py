"""The catalog over HTTP: products, categories, search and comparison for everyone;
create and reprice for merchandisers.

Bodies and query parameters are validated against the wire contract's types (SKU,
currency, minor units) before any use case runs, so invalid input is a 422 listing every
reason (in FastAPI's shape, naming the field) and writes nothing.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy.ext.asyncio import AsyncEngine

from catalog.adapters.recommendations import recommended
from catalog.adapters.repository import ProductRepository
from catalog.application import handlers
from catalog.application.unit_of_work import unit_of_work
from catalog.domain.model import Category, InvalidBundle, Product, UnknownCategory, UnknownProduct
from catalog.entrypoints.delivery import build_delivery_router
from catalog.entrypoints.discovery import build_discovery_router
from catalog.entrypoints.prices import build_prices_router
from catalog.entrypoints.promotions import build_promotions_router
from catalog.entrypoints.views import (
    AttributeName,
    AttributeValue,
    Family,
    ProductView,
    Slug,
    product_view,
)
from orderflow_contracts.common import Currency, MinorUnits, Sku, Weight
from orderflow_messaging.clock import Clock
from orderflow_service.http import NO_NUL, Text, invalid

_STRICT = ConfigDict(extra="forbid", strict=True)


class ProductDetails(BaseModel):
    """What a product is searched and compared by; a PUT replaces all of it."""

    model_config = _STRICT

    description: Annotated[str, StringConstraints(max_length=2000, pattern=NO_NUL)] = ""
    category: Slug | None = None
    family: Family | None = None
    attributes: Annotated[dict[AttributeName, AttributeValue], Field(max_length=20)] = Field(
        default_factory=dict
    )


class NewProduct(ProductDetails):
    """A product to create: its identity, price and details."""

    model_config = _STRICT

    sku: Sku
    name: Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=NO_NUL)]
    price_minor: MinorUnits
    currency: Currency
    active: bool = True
    weight_g: Weight | None = None  # one unit's shipping weight (delivery rates by weight)


class BundleComponent(BaseModel):
    model_config = _STRICT

    sku: Sku
    quantity: Annotated[int, Field(ge=1, le=100)]


class NewBundle(ProductDetails):
    """A bundle to create: a product made of ``components``, priced at ``price_minor``
    or at its components' prices less ``discount_bp`` basis points (one of the two)."""

    model_config = _STRICT

    sku: Sku
    name: Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=NO_NUL)]
    currency: Currency
    components: Annotated[list[BundleComponent], Field(min_length=2, max_length=20)]
    price_minor: MinorUnits | None = None
    discount_bp: Annotated[int, Field(ge=0, le=10_000)] | None = None


class RecommendationView(BaseModel):
    sku: str
    name: str
    price_minor: int
    currency: str
    orders: int  # orders that had it with the product asked about


class CategoryView(BaseModel):
    slug: str
    name: str
    parent: str | None


class NewCategory(BaseModel):
    model_config = _STRICT

    slug: Slug
    name: Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=NO_NUL)]
    parent: Slug | None = None


class NewWeight(BaseModel):
    model_config = _STRICT

    weight_g: Weight | None  # null: unknown (weighed as nothing)


class NewPrice(BaseModel):
    model_config = _STRICT

    price_minor: MinorUnits
    currency: Currency


def build_router(engine: AsyncEngine, clock: Clock) -> APIRouter:
    root = APIRouter()
    root.include_router(_products_router(engine, clock))
    root.include_router(_categories_router(engine, clock))
    root.include_router(_bundles_router(engine, clock))
    root.include_router(build_discovery_router(engine))
    root.include_router(build_prices_router(engine, clock))
    root.include_router(build_promotions_router(engine, clock))
    root.include_router(build_delivery_router(engine, clock))
    return root


def _categories_router(engine: AsyncEngine, clock: Clock) -> APIRouter:
    router = APIRouter(prefix="/categories", tags=["categories"])

    @router.get("")
    async def list_categories() -> list[CategoryView]:
        """Every category, parents before their children (a tree by ``parent``)."""
        async with unit_of_work(engine, clock) as uow:
            tree = await uow.categories.tree()
        return [CategoryView(slug=c.slug, name=c.name, parent=c.parent) for c in tree]

    @router.post(
        "",
        status_code=201,
        responses={409: {"description": "the slug exists"}},
    )
    async def create_category(body: NewCategory) -> CategoryView:
        """Create a category under ``parent`` (a root without); an unknown parent is a
        422."""
        if body.parent == body.slug:
            raise invalid(("body", "parent"), "a category cannot be its own parent")
        category = Category(body.slug, body.name, body.parent)
        try:
            async with unit_of_work(engine, clock) as uow:
                created = await handlers.add_category(uow, category)
        except UnknownCategory as exc:
            raise invalid(("body", "parent"), str(exc)) from exc
        if not created:
            raise HTTPException(409, f"category {body.slug!r} already exists")
        return CategoryView(slug=category.slug, name=category.name, parent=category.parent)

    return router


def _bundles_router(engine: AsyncEngine, clock: Clock) -> APIRouter:
    router = APIRouter(prefix="/bundles", tags=["products"])

    @router.post("", status_code=201, responses={409: {"description": "the SKU exists"}})
    async def create_bundle(body: NewBundle) -> ProductView:
        """Create a bundle and publish it (ProductPublished with its components): the
        saga reserves and ships its components, all or none. 422: not exactly one of
        ``price_minor`` and ``discount_bp``, a component named twice, not for sale, a
        bundle itself, or priced in another currency."""
        if (body.price_minor is None) == (body.discount_bp is None):
            raise invalid(("body", "price_minor"), "give price_minor or discount_bp, not both")
        bundle = Product(
            body.sku, body.name, body.price_minor or 0, body.currency,
            description=body.description, category=body.category, family=body.family,
            attributes=dict(body.attributes),
            components=tuple((c.sku, c.quantity) for c in body.components),
        )  # fmt: skip
        try:
            async with unit_of_work(engine, clock) as uow:
                created = await handlers.publish_bundle(uow, bundle, body.discount_bp)
        except InvalidBundle as exc:
            raise invalid(("body", exc.field), exc.reason) from exc
        except UnknownCategory as exc:
            raise invalid(("body", "category"), str(exc)) from exc
        if created is None:
            raise HTTPException(409, f"SKU {body.sku!r} already exists")
        return product_view(created)

    return router


def _products_router(engine: AsyncEngine, clock: Clock) -> APIRouter:
    router = APIRouter(prefix="/products", tags=["products"])

    @router.get("")
    async def list_products() -> list[ProductView]:
        async with engine.connect() as conn:
            return [product_view(product) for product in await ProductRepository(conn).all()]

    @router.get("/{sku}", responses={404: {"description": "unknown SKU"}})
    async def get_product(sku: Text) -> ProductView:
        async with engine.connect() as conn:
            product = await ProductRepository(conn).get(sku)
        if product is None:
            raise HTTPException(404, f"unknown SKU {sku!r}")
        return product_view(product)

    @router.get("/{sku}/bought-together", responses={404: {"description": "unknown SKU"}})
    async def bought_together(
        sku: Text, limit: Annotated[int, Query(ge=1, le=50)] = 5
    ) -> list[RecommendationView]:
        """The products for sale most often in one order with ``sku`` (ties: by SKU),
        with how many orders had both: a projection of the orders checkout placed,
        rebuilt by `orderflow replay projection bought-together`."""
        async with engine.connect() as conn:
            if await ProductRepository(conn).get(sku) is None:
                raise HTTPException(404, f"unknown SKU {sku!r}")
            found = await recommended(conn, sku, limit)
        return [RecommendationView(**vars(r)) for r in found]

    @router.post("", status_code=201, responses={409: {"description": "the SKU exists"}})
    async def create_product(body: NewProduct) -> ProductView:
        """Create a product and publish ProductPublished; an existing SKU is a 409, an
        unknown category a 422."""
        product = Product(
            body.sku, body.name, body.price_minor, body.currency, body.active,
            description=body.description, category=body.category, family=body.family,
            attributes=dict(body.attributes), weight_g=body.weight_g,
        )  # fmt: skip
        try:
            async with unit_of_work(engine, clock) as uow:
                created = await handlers.publish_product(uow, product)
        except UnknownCategory as exc:
            raise invalid(("body", "category"), str(exc)) from exc
        if not created:
            raise HTTPException(409, f"SKU {body.sku!r} already exists")
        return product_view(product)

    @router.put("/{sku}/details", responses={404: {"description": "unknown SKU"}})
    async def describe_product(sku: Text, body: ProductDetails) -> ProductView:
        """Replace the product's description, category, family and attributes (what is
        left out is cleared); an unknown category is a 422. Announces nothing."""
        try:
            async with unit_of_work(engine, clock) as uow:
                product = await handlers.describe_product(
                    uow, sku, body.description, body.category, body.family, dict(body.attributes)
                )
        except UnknownProduct as exc:
            raise HTTPException(404, str(exc)) from exc
        except UnknownCategory as exc:
            raise invalid(("body", "category"), str(exc)) from exc
        return product_view(product)

    @router.put(
        "/{sku}/weight",
        responses={404: {"description": "unknown SKU"}, 422: {"description": "a bundle"}},
    )
    async def change_weight(sku: Text, body: NewWeight) -> ProductView:
        """Set one unit's shipping weight (delivery is priced by weight). The product is
        announced again (ProductPublished), and so is every bundle made of it, which
        weighs its components; the same weight again announces nothing. A bundle's own
        weight cannot be set (422)."""
        try:
            async with unit_of_work(engine, clock) as uow:
                product = await handlers.change_weight(uow, sku, body.weight_g)
        except UnknownProduct as exc:
            raise HTTPException(404, str(exc)) from exc
        except InvalidBundle as exc:
            raise invalid(("body", exc.field), exc.reason) from exc
        return product_view(product)

    @router.put("/{sku}/price", responses={404: {"description": "unknown SKU"}})
    async def change_price(sku: Text, body: NewPrice) -> ProductView:
        """Set the price; PriceChanged is published only when it differs."""
        try:
            async with unit_of_work(engine, clock) as uow:
                product = await handlers.change_price(uow, sku, body.price_minor, body.currency)
        except UnknownProduct as exc:
            raise HTTPException(404, str(exc)) from exc
        return product_view(product)

    return router
