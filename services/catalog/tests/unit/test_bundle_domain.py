"""Bundles in the catalog's domain: what a bundle may be made of, and its price from
its components less a discount."""

from __future__ import annotations

import pytest

from catalog.domain.model import InvalidBundle, Product, bundle_price, checked_bundle

TEE = Product("TEE", "Tee", 1990, "EUR")
MUG = Product("MUG", "Mug", 1250, "EUR")
PARTS = {
    "TEE": TEE,
    "MUG": MUG,
    "OLD": Product("OLD", "Retired", 900, "EUR", active=False),
    "USD": Product("USD", "Import", 500, "USD"),
    "KIT": Product("KIT", "Kit", 3000, "EUR", components=(("TEE", 1), ("MUG", 1))),
}


def test_a_bundle_costs_its_components_less_the_discount_rounded_half_up() -> None:
    assert bundle_price((("TEE", 2), ("MUG", 1)), PARTS, 1000) == 4707  # 5230 less 10 %
    assert bundle_price((("TEE", 1), ("MUG", 1)), PARTS, 0) == 3240
    assert bundle_price((("TEE", 1), ("MUG", 1)), PARTS, 10_000) == 0


@pytest.mark.parametrize(
    ("components", "reason"),
    [
        ((("TEE", 1), ("TEE", 2)), "a SKU is named twice"),
        ((("TEE", 1), ("NEW", 1)), "a bundle is not its own component"),
        ((("TEE", 1), ("OLD", 1)), "OLD is not for sale"),
        ((("TEE", 1), ("NOPE", 1)), "NOPE is not for sale"),
        ((("TEE", 1), ("KIT", 1)), "KIT is a bundle itself"),
        ((("TEE", 1), ("USD", 1)), "USD is priced in USD"),
    ],
)
def test_what_a_bundle_cannot_be_made_of(
    components: tuple[tuple[str, int], ...], reason: str
) -> None:
    with pytest.raises(InvalidBundle) as refused:
        checked_bundle("NEW", "EUR", components, PARTS)
    assert (refused.value.field, refused.value.reason) == ("components", reason)
    checked_bundle("NEW", "EUR", (("TEE", 1), ("MUG", 3)), PARTS)  # a good one passes
