"""Delivery options: what a shipping method costs an order, or why it cannot take it.
Pure, like ``resolve``: the catalog quotes the options a shopper may choose from
(``GET /delivery-options``) and checkout charges the one chosen, from the same data.

A method delivers ``home`` (to the order's address) or to a ``pickup`` point the
customer chooses among the method's points (the parcel is addressed to the point). Its
rates are by destination zone (a set of countries; a pickup order's destination is its
point's country) and by weight: the first band whose ``max_weight_g`` the order's weight
does not exceed prices it. An order whose basket (the lines less their discounts)
reaches ``free_over_minor`` ships free. A method is priced in one currency and serves
only orders in it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class DeliveryKind(StrEnum):
    HOME = "home"
    PICKUP = "pickup"


@dataclass(frozen=True)
class Band:
    max_weight_g: int
    price_minor: int


@dataclass(frozen=True)
class Zone:
    name: str
    countries: frozenset[str]
    bands: tuple[Band, ...]  # by max_weight_g, ascending

    def band_for(self, weight_g: int) -> Band | None:
        return next((b for b in self.bands if weight_g <= b.max_weight_g), None)


@dataclass(frozen=True)
class PickupPoint:
    point_id: str
    name: str
    line1: str
    city: str
    postcode: str
    country: str


@dataclass(frozen=True)
class DeliveryMethod:
    method_id: str
    name: str
    kind: DeliveryKind
    carrier: str  # who carries it (the shipping service books the parcel with it)
    currency: str
    zones: tuple[Zone, ...]
    free_over_minor: int | None = None
    pickup_points: tuple[PickupPoint, ...] = ()

    def __post_init__(self) -> None:
        for zone in self.zones:
            weights = [b.max_weight_g for b in zone.bands]
            if not weights or weights != sorted(set(weights)):
                raise ValueError(f"zone {zone.name!r}: bands by increasing max_weight_g")
            if any(b.price_minor < 0 for b in zone.bands):
                raise ValueError(f"zone {zone.name!r}: a price below zero")
        countries = [c for zone in self.zones for c in zone.countries]
        if len(countries) != len(set(countries)):
            raise ValueError("a country in two zones")
        if (self.kind is DeliveryKind.PICKUP) != bool(self.pickup_points):
            raise ValueError("a pickup method has pickup points, a home method none")

    def zone_for(self, country: str) -> Zone | None:
        return next((z for z in self.zones if country in z.countries), None)

    def point(self, point_id: str) -> PickupPoint | None:
        return next((p for p in self.pickup_points if p.point_id == point_id), None)

    def to_json(self) -> dict[str, Any]:
        """The JSON shape of the catalog's store and of ``DeliveryMethodChanged``."""
        return {
            "method_id": self.method_id, "name": self.name, "kind": self.kind.value,
            "carrier": self.carrier, "currency": self.currency,
            "zones": [
                {"zone": z.name, "countries": sorted(z.countries),
                 "bands": [{"max_weight_g": b.max_weight_g, "price_minor": b.price_minor}
                           for b in z.bands]}
                for z in self.zones
            ],
            "free_over_minor": self.free_over_minor,
            "pickup_points": [
                {"point_id": p.point_id, "name": p.name, "line1": p.line1, "city": p.city,
                 "postcode": p.postcode, "country": p.country}
                for p in self.pickup_points
            ],
        }  # fmt: skip

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DeliveryMethod:
        """A method from ``to_json``'s shape (keys beyond it are ignored)."""
        zones = tuple(
            Zone(
                z["zone"],
                frozenset(z["countries"]),
                tuple(Band(b["max_weight_g"], b["price_minor"]) for b in z["bands"]),
            )
            for z in data["zones"]
        )
        points = tuple(
            PickupPoint(
                p["point_id"], p["name"], p["line1"], p["city"], p["postcode"], p["country"]
            )
            for p in data["pickup_points"]
        )
        return cls(
            method_id=data["method_id"], name=data["name"], kind=DeliveryKind(data["kind"]),
            carrier=data["carrier"], currency=data["currency"], zones=zones,
            free_over_minor=data["free_over_minor"], pickup_points=points,
        )  # fmt: skip


@dataclass(frozen=True)
class DeliveryQuote:
    """What ``method`` charges an order, and where the parcel goes."""

    method: DeliveryMethod
    price_minor: int
    zone: str
    weight_g: int
    free: bool  # the basket reached the free-shipping threshold
    pickup_point: PickupPoint | None = None


class DeliveryProblem(ValueError):
    """The method cannot take the order: ``field`` is ``method`` or ``pickup_point``."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


def quote_delivery(
    method: DeliveryMethod,
    *,
    country: str,
    weight_g: int,
    basket_minor: int,
    currency: str,
    pickup_point_id: str | None = None,
) -> DeliveryQuote:
    """``method``'s price for an order of ``weight_g`` and ``basket_minor`` (after
    discounts) in ``currency`` to ``country`` (home) or to the chosen pickup point;
    ``DeliveryProblem`` naming why it cannot take it."""
    if currency != method.currency:
        raise DeliveryProblem("method", f"{method.method_id!r} serves {method.currency} orders")
    point = _pickup_point(method, pickup_point_id)
    destination = point.country if point is not None else country
    zone = method.zone_for(destination)
    if zone is None:
        raise DeliveryProblem("method", f"{method.method_id!r} is not available for {destination}")
    band = zone.band_for(weight_g)
    if band is None:
        heaviest = zone.bands[-1].max_weight_g
        reason = f"{method.method_id!r} takes up to {heaviest} g to {destination}, not {weight_g} g"
        raise DeliveryProblem("method", reason)
    free = method.free_over_minor is not None and basket_minor >= method.free_over_minor
    price = 0 if free else band.price_minor
    return DeliveryQuote(method, price, zone.name, weight_g, free, point)


def _pickup_point(method: DeliveryMethod, point_id: str | None) -> PickupPoint | None:
    if method.kind is DeliveryKind.HOME:
        if point_id is not None:
            raise DeliveryProblem("pickup_point", f"{method.method_id!r} delivers home")
        return None
    if point_id is None:
        raise DeliveryProblem("pickup_point", f"choose a pickup point of {method.method_id!r}")
    point = method.point(point_id)
    if point is None:
        raise DeliveryProblem(
            "pickup_point", f"unknown pickup point {point_id!r} of {method.method_id!r}"
        )
    return point


def delivery_options(
    methods: Sequence[DeliveryMethod],
    *,
    country: str,
    weight_g: int,
    basket_minor: int,
    currency: str,
) -> list[DeliveryQuote]:
    """Every method that can take such an order, cheapest first (ties: by id). A pickup
    method is quoted for each of its points in ``country`` (an order may name a point
    elsewhere: it is then priced to that point's country)."""
    quotes: list[DeliveryQuote] = []
    for method in methods:
        points: Sequence[str | None] = [None]
        if method.kind is DeliveryKind.PICKUP:
            points = [p.point_id for p in method.pickup_points if p.country == country]
        for point_id in points:
            try:
                quote = quote_delivery(
                    method, country=country, weight_g=weight_g, basket_minor=basket_minor,
                    currency=currency, pickup_point_id=point_id,
                )  # fmt: skip
            except DeliveryProblem:
                continue
            quotes.append(quote)
    return sorted(quotes, key=lambda q: (q.price_minor, q.method.method_id, _point_id(q)))


def _point_id(quote: DeliveryQuote) -> str:
    return quote.pickup_point.point_id if quote.pickup_point is not None else ""
