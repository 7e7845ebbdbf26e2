"""Explicit row <-> domain mapping for products and categories."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from catalog.adapters.tables import categories, product_availability, products
from catalog.domain.model import Category, Product
from orderflow_messaging.sql import insert_or_ignore

# A product as it is read: every column but the search document (PostgreSQL's own,
# never read back), and what can be sold of it (its announced level, a bundle's from its
# components'; None without one).
PRODUCTS_WITH_LEVELS = products.outerjoin(
    product_availability, product_availability.c.sku == products.c.sku
)
PRODUCT_COLUMNS = [
    *(c for c in products.c if c.name != "search"),
    product_availability.c.available,
]


def read_products() -> Select[Any]:
    return select(*PRODUCT_COLUMNS).select_from(PRODUCTS_WITH_LEVELS)


def product_of(row: Any) -> Product:
    return Product(
        row.sku,
        row.name,
        row.price_minor,
        row.currency,
        row.active,
        row.updated_at,
        description=row.description,
        category=row.category,
        family=row.family,
        attributes=dict(row.attributes),
        available=row.available,
        components=tuple((c["sku"], int(c["quantity"])) for c in row.components or ()),
        bundle_discount_bp=row.bundle_discount_bp,
        weight_g=row.weight_g,
    )


class ProductRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def get(self, sku: str, *, for_update: bool = False) -> Product | None:
        query = read_products().where(products.c.sku == sku)
        if for_update:
            query = query.with_for_update(of=products)
        row = (await self._conn.execute(query)).first()
        return product_of(row) if row else None

    async def many(self, skus: Sequence[str]) -> dict[str, Product]:
        rows = await self._conn.execute(read_products().where(products.c.sku.in_(list(skus))))
        return {row.sku: product_of(row) for row in rows}

    async def all(self) -> list[Product]:
        rows = await self._conn.execute(read_products().order_by(products.c.sku))
        return [product_of(row) for row in rows]

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
            components=[{"sku": sku, "quantity": q} for sku, q in product.components] or None,
            bundle_discount_bp=product.bundle_discount_bp,
            weight_g=product.weight_g,
            **_details(product),
        )
        result = await self._conn.execute(insert_or_ignore(products, row, ["sku"]), row)
        return bool(result.rowcount)

    async def bundles_of(self, sku: str, *, priced_from_parts: bool = True) -> list[Product]:
        """The bundles that have ``sku`` among their components, locked (in SKU order):
        those priced from their components (for repricing), or every one."""
        query = (
            read_products()
            .where(products.c.components.contains([{"sku": sku}]))
            .order_by(products.c.sku)
            .with_for_update(of=products)
        )
        if priced_from_parts:
            query = query.where(products.c.bundle_discount_bp.is_not(None))
        return [product_of(row) for row in await self._conn.execute(query)]

    async def save_weight(self, product: Product) -> None:
        query = update(products).where(products.c.sku == product.sku)
        await self._conn.execute(
            query.values(weight_g=product.weight_g, updated_at=product.updated_at)
        )

    async def save_details(self, product: Product) -> None:
        query = update(products).where(products.c.sku == product.sku)
        await self._conn.execute(query.values(**_details(product)))

    async def place_if_unplaced(self, product: Product) -> bool:
        """Give a product that has no category yet ``product``'s description, category,
        family and attributes (what a catalog seeded before categories existed lacks);
        False when it has a category."""
        query = update(products).where(products.c.sku == product.sku, products.c.category.is_(None))
        result = await self._conn.execute(query.values(**_details(product)))
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


def _details(product: Product) -> dict[str, Any]:
    """The columns of what a product is searched and compared by."""
    return dict(
        description=product.description,
        category=product.category,
        family=product.family,
        attributes=dict(product.attributes),
    )


def category_of(row: Any) -> Category:
    return Category(row.slug, row.name, row.parent)


class CategoryRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def get(self, slug: str) -> Category | None:
        row = (
            await self._conn.execute(select(categories).where(categories.c.slug == slug))
        ).first()
        return category_of(row) if row else None

    async def tree(self) -> list[Category]:
        """Every category, parents before their children, siblings by name."""
        rows = await self._conn.execute(select(categories))
        return tree_order([category_of(row) for row in rows])

    async def add_if_missing(self, category: Category) -> bool:
        """Insert; False when the slug exists. The parent must exist (a foreign key)."""
        row = dict(slug=category.slug, name=category.name, parent=category.parent)
        result = await self._conn.execute(insert_or_ignore(categories, row, ["slug"]), row)
        return bool(result.rowcount)


def tree_order(found: Sequence[Category]) -> list[Category]:
    """Depth first from the roots, siblings by name: a parent always comes before its
    children."""
    children: dict[str | None, list[Category]] = {}
    for category in found:
        children.setdefault(category.parent, []).append(category)
    ordered: list[Category] = []
    stack = sorted(children.get(None, []), key=lambda c: c.name, reverse=True)
    while stack:
        category = stack.pop()
        ordered.append(category)
        stack.extend(sorted(children.get(category.slug, []), key=lambda c: c.name, reverse=True))
    return ordered
