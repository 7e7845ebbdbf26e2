"""Finding products: ``GET /search`` (text, filters, facets, sorting, paging) and
``GET /compare`` (an attribute table of a few SKUs). Reads only, for everyone."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, StringConstraints, TypeAdapter, ValidationError
from sqlalchemy.ext.asyncio import AsyncEngine

from catalog.adapters.repository import ProductRepository
from catalog.adapters.search import ProductSearch
from catalog.domain.model import UnknownCategory
from catalog.domain.search import (
    MAX_ATTRIBUTE_FILTERS,
    MAX_PAGE_SIZE,
    InvalidQuery,
    SearchQuery,
    Sort,
    attribute_filters,
    comparison,
    price_range,
)
from catalog.entrypoints.views import Family, ProductView, Slug, product_view
from orderflow_contracts.common import Currency, MinorUnits, Sku
from orderflow_service.http import NO_NUL, invalid

MAX_COMPARED = 10
SearchText = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=NO_NUL)]
AttributeFilter = Annotated[str, StringConstraints(min_length=3, max_length=140, pattern=NO_NUL)]


class CategoryFacet(BaseModel):
    slug: str
    name: str
    parent: str | None
    count: int


class ValueFacet(BaseModel):
    value: str
    count: int


class PriceFacet(BaseModel):
    currency: str
    min_minor: int
    max_minor: int | None
    count: int


class StockFacet(BaseModel):
    in_stock: int
    out_of_stock: int


class FacetsView(BaseModel):
    categories: list[CategoryFacet]
    attributes: dict[str, list[ValueFacet]]
    prices: list[PriceFacet]
    stock: StockFacet


class SearchPage(BaseModel):
    total: int
    page: int
    page_size: int
    items: list[ProductView]
    facets: FacetsView


class ComparisonRow(BaseModel):
    attribute: str
    values: list[str | None]  # one per SKU, in the order asked


class Comparison(BaseModel):
    products: list[ProductView]
    rows: list[ComparisonRow]


def build_discovery_router(engine: AsyncEngine) -> APIRouter:
    router = APIRouter(tags=["search"])

    @router.get("/search", responses={422: {"description": "a parameter cannot be used"}})
    async def search(
        q: SearchText | None = None,
        category: Slug | None = None,
        family: Family | None = None,
        attr: Annotated[
            list[AttributeFilter] | None,
            Query(
                max_length=MAX_ATTRIBUTE_FILTERS,
                description="name:value; values of one attribute are alternatives",
            ),
        ] = None,
        currency: Currency | None = None,
        price_min: MinorUnits | None = None,
        price_max: MinorUnits | None = None,
        in_stock: Annotated[
            bool | None,
            Query(description="true: only products in stock; false: only those without"),
        ] = None,
        sort: Sort = Sort.RELEVANCE,
        page: Annotated[int, Query(ge=1, le=10_000)] = 1,
        page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 20,
    ) -> SearchPage:
        """Active products matching the text (English stemming; quotes, ``or`` and
        ``-word`` as in a web search) and every filter, one page of them, and the
        facets: categories (with their subtrees), attribute values, price buckets and
        stock (as inventory last announced it), each counted without its own filter."""
        try:
            query = SearchQuery(
                text=q, category=category, family=family,
                attributes=attribute_filters(attr or []),
                price=price_range(currency, price_min, price_max), in_stock=in_stock,
                sort=sort, page=page, page_size=page_size,
            )  # fmt: skip
        except InvalidQuery as exc:
            raise invalid(("query", exc.parameter), exc.reason) from exc
        try:
            async with engine.connect() as conn:
                conn = await conn.execution_options(isolation_level="REPEATABLE READ")
                async with conn.begin():
                    result = await ProductSearch(conn).search(query)
        except UnknownCategory as exc:
            raise invalid(("query", "category"), str(exc)) from exc
        facets = result.facets
        return SearchPage(
            total=result.total,
            page=page,
            page_size=page_size,
            items=[product_view(p) for p in result.items],
            facets=FacetsView(
                categories=[CategoryFacet(**vars(c)) for c in facets.categories],
                attributes={
                    name: [ValueFacet(value=v.value, count=v.count) for v in values]
                    for name, values in facets.attributes.items()
                },
                prices=[PriceFacet(**vars(b)) for b in facets.prices],
                stock=StockFacet(**vars(facets.stock)),
            ),
        )

    @router.get("/compare", responses={422: {"description": "too few, too many or unknown SKUs"}})
    async def compare(
        skus: Annotated[
            str,
            Query(
                min_length=1,
                max_length=MAX_COMPARED * 65,
                description=f"2 to {MAX_COMPARED} SKUs, comma-separated",
            ),
        ],
    ) -> Comparison:
        """The products side by side: one row per attribute any of them has, with each
        product's value (null where it has none), in the order asked."""
        wanted = _sku_list(skus)
        async with engine.connect() as conn:
            found = await ProductRepository(conn).many(wanted)
        if missing := [sku for sku in wanted if sku not in found]:
            raise invalid(("query", "skus"), f"unknown SKUs: {', '.join(missing)}")
        products = [found[sku] for sku in wanted]
        return Comparison(
            products=[product_view(p) for p in products],
            rows=[ComparisonRow(attribute=a, values=v) for a, v in comparison(products)],
        )

    return router


_SKU = TypeAdapter(Sku)  # the SKU as on the wire


def _sku_list(raw: str) -> list[str]:
    """``"A,B"`` -> ``["A", "B"]``: 2 to MAX_COMPARED distinct, well-formed SKUs."""
    skus = list(dict.fromkeys(s.strip() for s in raw.split(",") if s.strip()))
    if not 2 <= len(skus) <= MAX_COMPARED:
        raise invalid(("query", "skus"), f"name 2 to {MAX_COMPARED} different SKUs")
    for sku in skus:
        try:
            _SKU.validate_python(sku)
        except ValidationError as exc:
            raise invalid(("query", "skus"), f"{sku!r} is not a SKU") from exc
    return skus
