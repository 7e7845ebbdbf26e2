"""Catalog use cases. Every change to a product and the event announcing it commit in
one transaction (outbox), keyed by SKU so one product's events stay in order."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

import structlog

from catalog.application.unit_of_work import CatalogUnitOfWork
from catalog.domain.model import (
    Category,
    InvalidBundle,
    Product,
    UnknownCategory,
    UnknownProduct,
    bundle_price,
    bundle_weight,
    checked_bundle,
)
from orderflow_contracts import topics
from orderflow_contracts.catalog import PriceChanged, ProductPublished
from orderflow_contracts.common import StockLine
from orderflow_contracts.samples import SampleCategory, SampleProduct
from orderflow_messaging.registry import Message

log = structlog.get_logger(__name__)


async def _announce(uow: CatalogUnitOfWork, message: Message, sku: str) -> None:
    await uow.outbox.put(topics.CATALOG_EVENTS, message, correlation_id=sku, key=sku)


async def _require_category(uow: CatalogUnitOfWork, slug: str | None) -> None:
    """``UnknownCategory`` unless ``slug`` is None or an existing category."""
    if slug is not None and await uow.categories.get(slug) is None:
        raise UnknownCategory(slug)


async def add_category(uow: CatalogUnitOfWork, category: Category) -> bool:
    """Create the category; False when the slug exists. ``UnknownCategory`` when its
    parent does not exist."""
    await _require_category(uow, category.parent)
    added = await uow.categories.add_if_missing(category)
    if added:
        log.info("category_added", slug=category.slug, parent=category.parent)
    return added


async def publish_product(uow: CatalogUnitOfWork, product: Product) -> bool:
    """Create the product and announce it; False (and no event) when the SKU exists.
    ``UnknownCategory`` when it names a category that does not exist."""
    await _require_category(uow, product.category)
    stamped = replace(product, updated_at=uow.clock())
    if not await uow.products.add_if_missing(stamped):
        return False
    await _announce(uow, product_published(stamped), stamped.sku)
    log.info(
        "product_published",
        sku=stamped.sku,
        price_minor=stamped.price_minor,
        currency=stamped.currency,
    )
    return True


def product_published(product: Product) -> ProductPublished:
    """The product as consumers copy it: announced when it is created, and again, whole,
    when what it announces changes (its weight, a bundle's with a component's)."""
    return ProductPublished(
        sku=product.sku,
        name=product.name,
        price_minor=product.price_minor,
        currency=product.currency,
        active=product.active,
        components=[StockLine(sku=sku, quantity=q) for sku, q in product.components] or None,
        weight_g=product.weight_g,
    )


async def change_weight(uow: CatalogUnitOfWork, sku: str, weight_g: int | None) -> Product:
    """Set one unit's shipping weight and announce the product again (ProductPublished:
    its whole current state); the bundles made of it weigh their components again and
    are announced with it. The same weight again changes and announces nothing.
    ``UnknownProduct``; ``InvalidBundle`` for a bundle (it weighs its components)."""
    product = await uow.products.get(sku, for_update=True)
    if product is None:
        raise UnknownProduct(sku)
    if product.is_bundle:
        raise InvalidBundle("weight_g", "a bundle weighs its components: change theirs")
    weighed = product.weighed(weight_g, uow.clock())
    if weighed is None:
        return product
    await _save_weight(uow, weighed)
    bundles = await uow.products.bundles_of(sku, priced_from_parts=False)
    if bundles:
        known = await uow.products.many(sorted({p for b in bundles for p, _ in b.components}))
        for bundle in bundles:
            changed = bundle.weighed(bundle_weight(bundle.components, known), uow.clock())
            if changed is not None:
                await _save_weight(uow, changed)
    return weighed


async def _save_weight(uow: CatalogUnitOfWork, product: Product) -> None:
    await uow.products.save_weight(product)
    await _announce(uow, product_published(product), product.sku)
    log.info("product_weighed", sku=product.sku, weight_g=product.weight_g)


async def publish_bundle(
    uow: CatalogUnitOfWork, bundle: Product, discount_bp: int | None
) -> Product | None:
    """Create a bundle of ``bundle.components`` and announce it with them; priced at
    ``bundle.price_minor``, or (``discount_bp``) at its components' prices less that
    discount, kept so as they are repriced. None (and no event) when the SKU exists;
    ``InvalidBundle`` when a component cannot be in it, ``UnknownCategory``."""
    parts = await uow.products.many(sorted(sku for sku, _ in bundle.components))
    checked_bundle(bundle.sku, bundle.currency, bundle.components, parts)
    if discount_bp is not None:
        price = bundle_price(bundle.components, parts, discount_bp)
        bundle = replace(bundle, price_minor=price, bundle_discount_bp=discount_bp)
    bundle = replace(bundle, weight_g=bundle_weight(bundle.components, parts))
    return bundle if await publish_product(uow, bundle) else None


async def change_price(
    uow: CatalogUnitOfWork, sku: str, price_minor: int, currency: str
) -> Product:
    """Reprice and announce; the same price again changes and announces nothing. The
    bundles priced from this product are repriced (and announced) with it."""
    product = await uow.products.get(sku, for_update=True)
    if product is None:
        raise UnknownProduct(sku)
    repriced = product.reprice(price_minor, currency, uow.clock())
    if repriced is None:
        return product
    await _save_price(uow, product, repriced)
    bundles = await uow.products.bundles_of(sku)
    if not bundles:
        return repriced
    # One load for every bundle's components (the repriced product already saved).
    known = await uow.products.many(sorted({part for b in bundles for part, _ in b.components}))
    for bundle in bundles:
        parts = {part: known[part] for part, _ in bundle.components if part in known}
        if any(part.currency != bundle.currency for part in parts.values()):
            log.warning("bundle_not_repriced", sku=bundle.sku, reason="a component's currency")
            continue
        assert bundle.bundle_discount_bp is not None  # bundles_of: the discounted ones
        price = bundle_price(bundle.components, parts, bundle.bundle_discount_bp)
        changed = bundle.reprice(price, bundle.currency, uow.clock())
        if changed is not None:
            await _save_price(uow, bundle, changed)
    return repriced


async def _save_price(uow: CatalogUnitOfWork, product: Product, repriced: Product) -> None:
    sku, price_minor, currency = repriced.sku, repriced.price_minor, repriced.currency
    await uow.products.save_price(repriced)
    await _announce(uow, PriceChanged(sku=sku, price_minor=price_minor, currency=currency), sku)
    log.info(
        "price_changed",
        sku=sku,
        old_price_minor=product.price_minor,
        price_minor=price_minor,
        currency=currency,
    )


async def describe_product(
    uow: CatalogUnitOfWork,
    sku: str,
    description: str,
    category: str | None,
    family: str | None,
    attributes: dict[str, str],
) -> Product:
    """Replace a product's details (description, category, family, attributes). Nothing
    is announced: they are the catalog's own data, not part of any contract.
    ``UnknownProduct``, ``UnknownCategory``."""
    product = await uow.products.get(sku, for_update=True)
    if product is None:
        raise UnknownProduct(sku)
    await _require_category(uow, category)
    described = product.described(description, category, family, attributes)
    if described != product:
        await uow.products.save_details(described)
        log.info("product_described", sku=sku, category=category, family=family)
    return described


async def seed_catalog(
    uow: CatalogUnitOfWork,
    samples: Iterable[SampleProduct],
    sample_categories: Iterable[SampleCategory] = (),
) -> int:
    """Add the categories and publish the products that are missing; a sample product
    that exists without a category (seeded before there were categories) gets its
    category, family and attributes. Returns how many products were new."""
    for sample_category in sample_categories:
        category = Category(sample_category.slug, sample_category.name, sample_category.parent)
        await add_category(uow, category)
    added = 0
    for sample in samples:
        product = Product(
            sample.sku, sample.name, sample.price_minor, sample.currency,
            description=sample.description, category=sample.category, family=sample.family,
            attributes=dict(sample.attributes), weight_g=sample.weight_g,
        )  # fmt: skip
        if await publish_product(uow, product):
            added += 1
        elif product.category is not None:
            await uow.products.place_if_unplaced(product)
    if added:
        log.info("catalog_seeded", products=added)
    return added
