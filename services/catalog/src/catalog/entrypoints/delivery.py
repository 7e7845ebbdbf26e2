"""Delivery options over HTTP: delivery methods for managers (rates by zone and weight,
a free-shipping threshold, pickup points), each change announced on catalog.events for
checkout's copy; and the options a shopper may choose from for a destination, weight and
basket, priced by the function checkout charges with (docs/catalog.md)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy.ext.asyncio import AsyncEngine

from catalog.application import delivery
from catalog.application.unit_of_work import unit_of_work
from catalog.domain.delivery import InvalidDeliveryMethod, StoredMethod
from orderflow_contracts.catalog import DeliveryMethodChanged, PickupPointData, WeightBand
from orderflow_contracts.common import (
    CarrierName,
    Country,
    Currency,
    DeliveryId,
    MinorUnits,
    Weight,
)
from orderflow_messaging.clock import Clock
from orderflow_pricing import (
    DeliveryMethod,
    DeliveryQuote,
)
from orderflow_service.http import NO_NUL, invalid

_STRICT = ConfigDict(extra="forbid", strict=True)
Text200 = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=NO_NUL)]


class BandBody(WeightBand):
    model_config = _STRICT  # the contract's band, taken strictly


class ZoneBody(BaseModel):
    model_config = _STRICT

    zone: Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=NO_NUL)]
    countries: Annotated[list[Country], Field(min_length=1, max_length=300)]
    bands: Annotated[list[BandBody], Field(min_length=1, max_length=50)]


class PickupPointBody(BaseModel):
    model_config = _STRICT

    point_id: DeliveryId
    name: Text200
    line1: Text200
    city: Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=NO_NUL)]
    postcode: Annotated[str, StringConstraints(min_length=1, max_length=20, pattern=NO_NUL)]
    country: Country


class DeliveryMethodBody(BaseModel):
    """A whole delivery method: a PUT replaces what was there."""

    model_config = _STRICT

    name: Text200
    kind: Literal["home", "pickup"]
    carrier: CarrierName
    currency: Currency
    zones: Annotated[list[ZoneBody], Field(min_length=1, max_length=50)]
    free_over_minor: MinorUnits | None = None
    pickup_points: Annotated[list[PickupPointBody], Field(max_length=1000)] = []
    active: bool = True


class OptionView(BaseModel):
    """One way to deliver the order and its price (``free``: over the threshold)."""

    method_id: str
    name: str
    kind: str
    carrier: str
    price_minor: int
    currency: str
    zone: str
    free: bool
    pickup_point: PickupPointData | None


def _method(method_id: str, body: DeliveryMethodBody) -> DeliveryMethod:
    return DeliveryMethod.from_json(body.model_dump() | {"method_id": method_id})


def _option(quote: DeliveryQuote) -> OptionView:
    m, point = quote.method, quote.pickup_point
    return OptionView(
        method_id=m.method_id, name=m.name, kind=m.kind.value, carrier=m.carrier,
        price_minor=quote.price_minor, currency=m.currency, zone=quote.zone, free=quote.free,
        pickup_point=PickupPointData(**vars(point)) if point is not None else None,
    )  # fmt: skip


def _view(stored: StoredMethod) -> DeliveryMethodChanged:
    return delivery.delivery_method_changed(stored)


def build_delivery_router(engine: AsyncEngine, clock: Clock) -> APIRouter:
    router = APIRouter(tags=["delivery"])

    @router.get("/delivery-methods")
    async def list_methods() -> list[DeliveryMethodChanged]:
        async with unit_of_work(engine, clock) as uow:
            return [_view(s) for s in await uow.delivery.all()]

    @router.get("/delivery-methods/{method_id}", responses={404: {"description": "unknown"}})
    async def get_method(method_id: DeliveryId) -> DeliveryMethodChanged:
        async with unit_of_work(engine, clock) as uow:
            stored = await uow.delivery.get(method_id)
        if stored is None:
            raise HTTPException(404, f"unknown delivery method {method_id!r}")
        return _view(stored)

    @router.put("/delivery-methods/{method_id}", responses={422: {"description": "inconsistent"}})
    async def put_method(method_id: DeliveryId, body: DeliveryMethodBody) -> DeliveryMethodChanged:
        """Create or replace a delivery method (announced as DeliveryMethodChanged);
        ``active: false`` withdraws it. Bands by increasing ``max_weight_g``; a country
        in one zone only; a pickup method has pickup points in the countries its zones
        cover, a home method none."""
        try:
            method = _method(method_id, body)
        except ValueError as exc:  # the domain's own invariants (DeliveryMethod)
            field = "pickup_points" if "pickup" in str(exc) else "zones"
            raise invalid(("body", field), str(exc)) from exc
        try:
            async with unit_of_work(engine, clock) as uow:
                stored = await delivery.save_delivery_method(uow, method, active=body.active)
        except InvalidDeliveryMethod as exc:
            raise invalid(("body", exc.field), exc.reason) from exc
        return _view(stored)

    @router.get("/delivery-options")
    async def delivery_options(
        country: Annotated[Country, Query()],
        currency: Annotated[Currency, Query()],
        weight_g: Annotated[Weight, Query()] = 0,
        basket_minor: Annotated[MinorUnits, Query()] = 0,
    ) -> list[OptionView]:
        """The offered methods that can deliver an order of ``weight_g`` whose basket
        (after discounts) is ``basket_minor`` to ``country``, cheapest first; a pickup
        method once per pickup point in ``country``. Checkout charges the chosen one
        as quoted here."""
        async with unit_of_work(engine, clock) as uow:
            quotes = await delivery.quote_options(
                uow, country=country, currency=currency, weight_g=weight_g,
                basket_minor=basket_minor,
            )  # fmt: skip
        return [_option(q) for q in quotes]

    return router
