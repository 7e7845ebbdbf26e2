"""Products, their prices and where they sit in the catalog.

A product is identified by its SKU for life: it is created once (publishing it) and
later only repriced. Money is integer minor units plus an ISO currency, as on the wire.
A product may sit in a category (a tree, ``Category``), carry attributes (name -> value,
what search facets and the comparison table show) and belong to a family: the variants
of one article (a tee in several colours and sizes) share a family and differ in their
attributes. How many are available is inventory's to say: the catalog shows the level
inventory last announced (``StockLevel``, a projection of inventory.stock), never asks.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime


class UnknownProduct(Exception):
    """No product has this SKU."""

    def __init__(self, sku: str) -> None:
        super().__init__(f"unknown SKU {sku!r}")
        self.sku = sku


class UnknownCategory(Exception):
    """No category has this slug."""

    def __init__(self, slug: str) -> None:
        super().__init__(f"unknown category {slug!r}")
        self.slug = slug


@dataclass(frozen=True)
class Category:
    """A node of the category tree (``parent`` None: a root)."""

    slug: str
    name: str
    parent: str | None = None


@dataclass(frozen=True)
class Product:
    sku: str
    name: str
    price_minor: int
    currency: str
    active: bool = True
    updated_at: datetime | None = None
    description: str = ""
    category: str | None = None
    family: str | None = None
    attributes: Mapping[str, str] = field(default_factory=dict)
    # As inventory last announced it; None: no level announced for this SKU yet.
    available: int | None = None
    # A bundle: the (SKU, quantity) one unit of it is made of; priced at its own price,
    # or (``bundle_discount_bp`` set) at its components' prices less that many basis
    # points, kept so as the components are repriced.
    components: tuple[tuple[str, int], ...] = ()
    bundle_discount_bp: int | None = None
    # One unit's shipping weight (None: unknown, weighed as nothing); a bundle's is its
    # components'.
    weight_g: int | None = None

    @property
    def is_bundle(self) -> bool:
        return bool(self.components)

    @property
    def in_stock(self) -> bool:
        return (self.available or 0) > 0

    def reprice(self, price_minor: int, currency: str, at: datetime) -> Product | None:
        """The repriced product, or None when the price is already this one.

        None lets a repeated PUT be a no-op that emits nothing, so consumers never see a
        PriceChanged that changed nothing.
        """
        if (price_minor, currency) == (self.price_minor, self.currency):
            return None
        return replace(self, price_minor=price_minor, currency=currency, updated_at=at)

    def weighed(self, weight_g: int | None, at: datetime) -> Product | None:
        """The product at this weight, or None when it already weighs that (a repeated
        PUT announces nothing)."""
        if weight_g == self.weight_g:
            return None
        return replace(self, weight_g=weight_g, updated_at=at)

    def described(
        self,
        description: str,
        category: str | None,
        family: str | None,
        attributes: Mapping[str, str],
    ) -> Product:
        """The product with these details (what search and comparison show); its price
        and identity stay."""
        return replace(
            self,
            description=description,
            category=category,
            family=family,
            attributes=dict(attributes),
        )


@dataclass(frozen=True)
class StockLevel:
    """A SKU's available quantity as inventory announced it. ``revision`` only grows
    (inventory counts its writes of the SKU), so the level with the highest revision is
    the latest, whatever order redeliveries and replays bring them in."""

    sku: str
    available: int
    revision: int


def latest_levels(levels: Iterable[StockLevel]) -> list[StockLevel]:
    """Each SKU's level with the highest revision, in SKU order."""
    latest: dict[str, StockLevel] = {}
    for level in levels:
        known = latest.get(level.sku)
        if known is None or level.revision > known.revision:
            latest[level.sku] = level
    return [latest[sku] for sku in sorted(latest)]


class InvalidBundle(ValueError):
    """A bundle that cannot be made: which field, and why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def bundle_price(
    components: Iterable[tuple[str, int]], parts: Mapping[str, Product], discount_bp: int
) -> int:
    """The components' prices (quantity x price) less ``discount_bp`` basis points,
    rounded half up to a minor unit."""
    total = sum(parts[sku].price_minor * quantity for sku, quantity in components)
    return (total * (10_000 - discount_bp) + 5_000) // 10_000


def bundle_weight(
    components: Iterable[tuple[str, int]], parts: Mapping[str, Product]
) -> int | None:
    """The components' weights (quantity x weight; an unknown one weighs nothing), or
    None when no component's weight is known."""
    weights = [(parts[sku].weight_g, quantity) for sku, quantity in components]
    if all(weight is None for weight, _ in weights):
        return None
    return sum((weight or 0) * quantity for weight, quantity in weights)


def checked_bundle(
    sku: str, currency: str, components: tuple[tuple[str, int], ...], parts: Mapping[str, Product]
) -> None:
    """``InvalidBundle`` unless every component is a distinct, sellable, plain product in
    the bundle's currency (no bundle within a bundle)."""
    skus = [component for component, _ in components]
    if len(set(skus)) != len(skus):
        raise InvalidBundle("components", "a SKU is named twice")
    if sku in skus:
        raise InvalidBundle("components", "a bundle is not its own component")
    for component in skus:
        part = parts.get(component)
        if part is None or not part.active:
            raise InvalidBundle("components", f"{component} is not for sale")
        if part.is_bundle:
            raise InvalidBundle("components", f"{component} is a bundle itself")
        if part.currency != currency:
            raise InvalidBundle("components", f"{component} is priced in {part.currency}")
