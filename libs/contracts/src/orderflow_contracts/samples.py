"""The sample catalog every local stack starts with (catalog prices, inventory stock).

Shared as data, not code: catalog seeds products and prices from it, inventory seeds
stock. ``LAST-UNIT`` and ``SOLD-OUT`` exist so the demo shows stock failures.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SampleProduct:
    sku: str
    name: str
    price_minor: int
    currency: str
    initial_stock: int


SAMPLE_CATALOG: tuple[SampleProduct, ...] = (
    SampleProduct("TEE-BLK-M", "Organic cotton tee, black, M", 1990, "EUR", 100_000),
    SampleProduct("TEE-WHT-L", "Organic cotton tee, white, L", 1990, "EUR", 100_000),
    SampleProduct("HOODIE-GRY-M", "Heavyweight hoodie, grey, M", 5900, "EUR", 100_000),
    SampleProduct("CAP-NVY", "Six-panel cap, navy", 2400, "EUR", 100_000),
    SampleProduct("MUG-ENAMEL", "Enamel camping mug", 1250, "EUR", 100_000),
    SampleProduct("BOTTLE-750", "Insulated bottle 750 ml", 2990, "EUR", 100_000),
    SampleProduct("SOCKS-3PK", "Merino socks, 3 pack", 1800, "EUR", 100_000),
    SampleProduct("TOTE-CANVAS", "Canvas tote bag", 1500, "EUR", 100_000),
    SampleProduct("LAST-UNIT", "Signed print, last one", 25000, "EUR", 1),
    SampleProduct("SOLD-OUT", "Limited sneaker drop", 18000, "EUR", 0),
)
