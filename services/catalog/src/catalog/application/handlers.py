"""Catalog use cases. Every change to a product and the event announcing it commit in
one transaction (outbox), keyed by SKU so one product's events stay in order."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

import structlog

from catalog.application.unit_of_work import CatalogUnitOfWork
from catalog.domain.model import Product, UnknownProduct
from orderflow_contracts import topics
from orderflow_contracts.catalog import PriceChanged, ProductPublished
from orderflow_contracts.samples import SampleProduct
from orderflow_messaging.registry import Message

log = structlog.get_logger(__name__)


async def _announce(uow: CatalogUnitOfWork, message: Message, sku: str) -> None:
    await uow.outbox.put(topics.CATALOG_EVENTS, message, correlation_id=sku, key=sku)


async def publish_product(uow: CatalogUnitOfWork, product: Product) -> bool:
    """Create the product and announce it; False (and no event) when the SKU exists."""
    stamped = replace(product, updated_at=uow.clock())
    if not await uow.products.add_if_missing(stamped):
        return False
    published = ProductPublished(
        sku=stamped.sku,
        name=stamped.name,
        price_minor=stamped.price_minor,
        currency=stamped.currency,
        active=stamped.active,
    )
    await _announce(uow, published, stamped.sku)
    log.info(
        "product_published",
        sku=stamped.sku,
        price_minor=stamped.price_minor,
        currency=stamped.currency,
    )
    return True


async def change_price(
    uow: CatalogUnitOfWork, sku: str, price_minor: int, currency: str
) -> Product:
    """Reprice and announce; the same price again changes and announces nothing."""
    product = await uow.products.get(sku, for_update=True)
    if product is None:
        raise UnknownProduct(sku)
    repriced = product.reprice(price_minor, currency, uow.clock())
    if repriced is None:
        return product
    await uow.products.save_price(repriced)
    await _announce(uow, PriceChanged(sku=sku, price_minor=price_minor, currency=currency), sku)
    log.info(
        "price_changed",
        sku=sku,
        old_price_minor=product.price_minor,
        price_minor=price_minor,
        currency=currency,
    )
    return repriced


async def seed_catalog(uow: CatalogUnitOfWork, samples: Iterable[SampleProduct]) -> int:
    """Publish the samples that are missing; returns how many were new."""
    added = 0
    for sample in samples:
        product = Product(sample.sku, sample.name, sample.price_minor, sample.currency)
        added += await publish_product(uow, product)
    if added:
        log.info("catalog_seeded", products=added)
    return added
