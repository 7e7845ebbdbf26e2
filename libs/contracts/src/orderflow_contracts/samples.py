"""The sample catalog every local stack starts with (catalog prices, categories and
attributes; inventory stock).

Shared as data, not code: catalog seeds categories, products and prices from it,
inventory seeds stock. ``LAST-UNIT`` and ``SOLD-OUT`` exist so the demo shows stock
failures.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SampleCategory:
    slug: str
    name: str
    parent: str | None = None


@dataclass(frozen=True)
class SampleProduct:
    sku: str
    name: str
    price_minor: int
    currency: str
    initial_stock: int
    category: str | None = None
    description: str = ""
    family: str | None = None
    attributes: tuple[tuple[str, str], ...] = ()
    weight_g: int | None = None  # one unit's shipping weight


# Parents before children.
SAMPLE_CATEGORIES: tuple[SampleCategory, ...] = (
    SampleCategory("apparel", "Apparel"),
    SampleCategory("tops", "Tops", "apparel"),
    SampleCategory("accessories", "Accessories", "apparel"),
    SampleCategory("footwear", "Footwear", "apparel"),
    SampleCategory("home", "Home and outdoors"),
    SampleCategory("drinkware", "Drinkware", "home"),
    SampleCategory("art", "Art"),
)


SAMPLE_CATALOG: tuple[SampleProduct, ...] = (
    SampleProduct(
        "TEE-BLK-M", "Organic cotton tee, black, M", 1990, "EUR", 100_000, "tops",
        "A soft crew-neck tee in organic cotton.", "TEE-ORGANIC",
        (("colour", "black"), ("size", "M"), ("material", "cotton")), 180,
    ),
    SampleProduct(
        "TEE-WHT-L", "Organic cotton tee, white, L", 1990, "EUR", 100_000, "tops",
        "A soft crew-neck tee in organic cotton.", "TEE-ORGANIC",
        (("colour", "white"), ("size", "L"), ("material", "cotton")), 200,
    ),
    SampleProduct(
        "HOODIE-GRY-M", "Heavyweight hoodie, grey, M", 5900, "EUR", 100_000, "tops",
        "A brushed fleece hoodie with a kangaroo pocket.", None,
        (("colour", "grey"), ("size", "M"), ("material", "cotton")), 650,
    ),
    SampleProduct(
        "CAP-NVY", "Six-panel cap, navy", 2400, "EUR", 100_000, "accessories",
        "A washed cotton cap with a brass buckle.", None,
        (("colour", "navy"), ("size", "one size"), ("material", "cotton")), 120,
    ),
    SampleProduct(
        "MUG-ENAMEL", "Enamel camping mug", 1250, "EUR", 100_000, "drinkware",
        "A light steel mug with an enamel finish, for the campfire.", None,
        (("colour", "white"), ("material", "enamel"), ("capacity", "350 ml")), 250,
    ),
    SampleProduct(
        "BOTTLE-750", "Insulated bottle 750 ml", 2990, "EUR", 100_000, "drinkware",
        "A double-walled bottle that keeps drinks cold for a day.", None,
        (("colour", "black"), ("material", "steel"), ("capacity", "750 ml")), 400,
    ),
    SampleProduct(
        "SOCKS-3PK", "Merino socks, 3 pack", 1800, "EUR", 100_000, "accessories",
        "Three pairs of merino wool hiking socks.", None,
        (("colour", "grey"), ("size", "M"), ("material", "merino")), 150,
    ),
    SampleProduct(
        "TOTE-CANVAS", "Canvas tote bag", 1500, "EUR", 100_000, "accessories",
        "A heavy canvas tote with long handles.", None,
        (("colour", "natural"), ("material", "cotton")), 300,
    ),
    SampleProduct(
        "LAST-UNIT", "Signed print, last one", 25000, "EUR", 1, "art",
        "A signed screen print, the last of its edition.", None,
        (("material", "paper"), ("signed", "yes")), 900,
    ),
    SampleProduct(
        "SOLD-OUT", "Limited sneaker drop", 18000, "EUR", 0, "footwear",
        "A limited leather sneaker, sold out.", None,
        (("colour", "white"), ("size", "42"), ("material", "leather")), 1100,
    ),
)  # fmt: skip
