"""Delivery methods as the catalog keeps them: orderflow_pricing's ``DeliveryMethod``
with whether it is offered and its revision (every change announced with the next)."""

from __future__ import annotations

from dataclasses import dataclass

from catalog.domain.prices import InvalidPrices
from orderflow_pricing import DeliveryMethod


class InvalidDeliveryMethod(InvalidPrices):
    """A delivery method that cannot be kept: which field, and why."""


@dataclass(frozen=True)
class StoredMethod:
    method: DeliveryMethod
    active: bool
    revision: int

    @property
    def method_id(self) -> str:
        return self.method.method_id

    def same_definition(self, other: StoredMethod) -> bool:
        return (self.method, self.active) == (other.method, other.active)


def checked_method(method: DeliveryMethod) -> DeliveryMethod:
    """``method`` if its zones and points are named once each, else
    ``InvalidDeliveryMethod`` naming the field."""
    zones = [zone.name for zone in method.zones]
    if len(zones) != len(set(zones)):
        raise InvalidDeliveryMethod("zones", "a zone is named twice")
    points = [point.point_id for point in method.pickup_points]
    if len(points) != len(set(points)):
        raise InvalidDeliveryMethod("pickup_points", "a pickup point is named twice")
    unserved = sorted({p.country for p in method.pickup_points} - _countries(method))
    if unserved:
        reason = f"pickup points in {', '.join(unserved)}, which no zone covers"
        raise InvalidDeliveryMethod("pickup_points", reason)
    return method


def _countries(method: DeliveryMethod) -> set[str]:
    return {country for zone in method.zones for country in zone.countries}
