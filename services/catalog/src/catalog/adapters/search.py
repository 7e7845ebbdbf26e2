"""Catalog search on PostgreSQL's own full-text search (no search server to run).

The text goes through ``websearch_to_tsquery`` (quotes, ``or``, ``-word``; any input is a
valid query, never a syntax error) against the products' stored ``search`` document (GIN
index). Each facet is one grouped count over the products matching every filter but its
own (``search.py`` in the domain says why); a read, in one snapshot (REPEATABLE READ),
so the items, total and facets agree. Availability is the catalog's projection of
inventory's levels (``stock_levels``, a bundle's through the ``product_availability``
view), joined, never asked for.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Select, and_, func, literal, select, true
from sqlalchemy.dialects.postgresql import ARRAY, REGCONFIG
from sqlalchemy.ext.asyncio import AsyncConnection

from catalog.adapters.repository import (
    PRODUCTS_WITH_LEVELS,
    CategoryRepository,
    product_of,
    read_products,
)
from catalog.adapters.tables import product_availability, products
from catalog.domain.model import Category, UnknownCategory
from catalog.domain.search import (
    PRICE_EDGES,
    Facets,
    PriceBucket,
    SearchQuery,
    SearchResult,
    Sort,
    StockCount,
    ValueCount,
    bucket_bounds,
    rolled_up,
)

_CATEGORY = "category"
_PRICE = "price"
_STOCK = "in_stock"
# A product has stock when what can be sold of it (inventory's last announced level; a
# bundle's, from its components') is above zero.
_HAS_STOCK = products.c.sku.in_(
    select(product_availability.c.sku).where(product_availability.c.available > 0)
)


class ProductSearch:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def search(self, query: SearchQuery) -> SearchResult:
        """``UnknownCategory`` when the query names a category that does not exist."""
        tree = await CategoryRepository(self._conn).tree()
        if query.category is not None and query.category not in {c.slug for c in tree}:
            raise UnknownCategory(query.category)
        where = _Filters(query, tree)
        total = await self._conn.scalar(select(func.count()).where(*where.all()))
        rows = await self._conn.execute(_page(query, where))
        facets = Facets(
            categories=await self._categories(where, tree),
            attributes=await self._attributes(query, where),
            prices=await self._prices(where),
            stock=await self._stock(where),
        )
        return SearchResult(int(total or 0), [product_of(row) for row in rows], facets)

    async def _categories(self, where: _Filters, tree: list[Category]) -> list[Any]:
        rows = await self._conn.execute(
            select(products.c.category, func.count())
            .where(*where.all(but=_CATEGORY))
            .group_by(products.c.category)
        )
        return rolled_up({row[0]: row[1] for row in rows}, tree)

    async def _attributes(self, query: SearchQuery, where: _Filters) -> dict[str, list[ValueCount]]:
        """Attributes nobody filters by: one count under every filter. Each filtered
        attribute: its own count without its own filter."""
        pairs = func.jsonb_each_text(products.c.attributes).table_valued("key", "value")
        counted: dict[str, list[ValueCount]] = {}

        async def count(conditions: list[ColumnElement[bool]]) -> None:
            rows = await self._conn.execute(
                select(pairs.c.key, pairs.c.value, func.count())
                .select_from(products.join(pairs, true()))
                .where(*conditions)
                .group_by(pairs.c.key, pairs.c.value)
                .order_by(pairs.c.key, func.count().desc(), pairs.c.value)
            )
            for key, value, n in rows:
                counted.setdefault(key, []).append(ValueCount(value, n))

        await count([*where.all(), pairs.c.key.not_in(list(query.attributes))])
        for name in sorted(query.attributes):
            await count([*where.all(but=f"attr:{name}"), pairs.c.key == name])
        return dict(sorted(counted.items()))

    async def _prices(self, where: _Filters) -> list[PriceBucket]:
        edges = literal(list(PRICE_EDGES), ARRAY(BigInteger))
        bucket = func.width_bucket(products.c.price_minor, edges)
        rows = await self._conn.execute(
            select(products.c.currency, bucket, func.count())
            .where(*where.all(but=_PRICE))
            .group_by(products.c.currency, bucket)
            .order_by(products.c.currency, bucket)
        )
        return [PriceBucket(currency, *bucket_bounds(n), count) for currency, n, count in rows]

    async def _stock(self, where: _Filters) -> StockCount:
        in_stock = func.count().filter(product_availability.c.available > 0)
        row = (
            await self._conn.execute(
                select(in_stock, func.count())
                .select_from(PRODUCTS_WITH_LEVELS)
                .where(*where.all(but=_STOCK))
            )
        ).one()
        return StockCount(in_stock=row[0], out_of_stock=row[1] - row[0])


class _Filters:
    """The query's conditions by name, so a facet can leave its own out."""

    def __init__(self, query: SearchQuery, tree: list[Category]) -> None:
        self.tsquery = (
            func.websearch_to_tsquery(literal("english", REGCONFIG), query.text)
            if query.text
            else None
        )
        named: dict[str, ColumnElement[bool]] = {"active": products.c.active}
        if self.tsquery is not None:
            named["text"] = products.c.search.bool_op("@@")(self.tsquery)
        if query.category is not None:
            named[_CATEGORY] = products.c.category.in_(_subtree(query.category, tree))
        if query.family is not None:
            named["family"] = products.c.family == query.family
        for name, values in sorted(query.attributes.items()):
            named[f"attr:{name}"] = products.c.attributes[name].astext.in_(sorted(values))
        if query.price is not None:
            price = query.price
            bounds = [products.c.currency == price.currency]
            if price.min_minor is not None:
                bounds.append(products.c.price_minor >= price.min_minor)
            if price.max_minor is not None:
                bounds.append(products.c.price_minor <= price.max_minor)
            named[_PRICE] = and_(*bounds)
        if query.in_stock is not None:
            named[_STOCK] = _HAS_STOCK if query.in_stock else ~_HAS_STOCK
        self._named = named

    def all(self, *, but: str | None = None) -> list[ColumnElement[bool]]:
        return [condition for name, condition in self._named.items() if name != but]


def _subtree(slug: str, tree: list[Category]) -> list[str]:
    """``slug`` and every category below it."""
    below = {slug}
    for category in tree:  # parents come before their children
        if category.parent in below:
            below.add(category.slug)
    return sorted(below)


def _page(query: SearchQuery, where: _Filters) -> Select[Any]:
    order: list[Any]
    if query.sort is Sort.RELEVANCE and where.tsquery is not None:
        order = [func.ts_rank_cd(products.c.search, where.tsquery).desc()]
    elif query.sort is Sort.PRICE_ASC:
        order = [products.c.price_minor.asc()]
    elif query.sort is Sort.PRICE_DESC:
        order = [products.c.price_minor.desc()]
    elif query.sort is Sort.NEWEST:
        order = [products.c.updated_at.desc()]
    else:  # NAME, and RELEVANCE without text
        order = [products.c.name.asc()]
    return (
        read_products()
        .where(*where.all())
        .order_by(*order, products.c.sku)  # the SKU breaks ties: stable pages
        .limit(query.page_size)
        .offset(query.offset)
    )
