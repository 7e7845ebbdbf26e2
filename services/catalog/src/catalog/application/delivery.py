"""Delivery use cases: keep the delivery methods (each change and its announcement commit
together, for checkout's copy) and quote the options a shopper may choose from, with
the function checkout charges by (``orderflow_pricing.quote_delivery``)."""

from __future__ import annotations

import structlog

from catalog.application.announce import announce, next_revision
from catalog.application.unit_of_work import CatalogUnitOfWork
from catalog.domain.delivery import StoredMethod, checked_method
from orderflow_contracts.catalog import DeliveryMethodChanged
from orderflow_pricing import DeliveryMethod, DeliveryQuote, delivery_options

log = structlog.get_logger(__name__)


async def save_delivery_method(
    uow: CatalogUnitOfWork, method: DeliveryMethod, *, active: bool = True
) -> StoredMethod:
    """Create or replace the method (its next revision) and announce it; the same
    definition again changes and announces nothing. ``InvalidDeliveryMethod``."""
    checked = checked_method(method)
    before = await uow.delivery.get(checked.method_id, for_update=True)
    wanted = StoredMethod(checked, active, next_revision(before))
    if before is not None and before.same_definition(wanted):
        return before
    await uow.delivery.save(wanted)
    await announce(uow, delivery_method_changed(wanted), checked.method_id)
    log.info("delivery_method_saved", method_id=checked.method_id, revision=wanted.revision)
    return wanted


def delivery_method_changed(stored: StoredMethod) -> DeliveryMethodChanged:
    return DeliveryMethodChanged.model_validate(
        stored.method.to_json() | {"active": stored.active, "revision": stored.revision}
    )


async def quote_options(
    uow: CatalogUnitOfWork, *, country: str, currency: str, weight_g: int, basket_minor: int
) -> list[DeliveryQuote]:
    """The offered methods that can take such an order, cheapest first."""
    methods = [stored.method for stored in await uow.delivery.all(active_only=True)]
    return delivery_options(
        methods, country=country, weight_g=weight_g, basket_minor=basket_minor, currency=currency
    )
