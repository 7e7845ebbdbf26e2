"""The catalog domain: repricing announces only real changes."""

from __future__ import annotations

from datetime import UTC, datetime

from catalog.domain.model import Product, UnknownProduct

EARLIER = datetime(2026, 1, 1, tzinfo=UTC)
NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


def tee() -> Product:
    return Product("TEE-BLK-M", "Tee", 1990, "EUR", updated_at=EARLIER)


def test_reprice_sets_price_currency_and_time() -> None:
    repriced = tee().reprice(2490, "EUR", NOW)
    assert repriced is not None
    assert (repriced.price_minor, repriced.currency, repriced.updated_at) == (2490, "EUR", NOW)
    assert (repriced.sku, repriced.name, repriced.active) == ("TEE-BLK-M", "Tee", True)


def test_same_price_is_no_change() -> None:
    assert tee().reprice(1990, "EUR", NOW) is None


def test_currency_alone_is_a_change() -> None:
    repriced = tee().reprice(1990, "USD", NOW)
    assert repriced is not None
    assert repriced.currency == "USD"


def test_unknown_product_names_the_sku() -> None:
    error = UnknownProduct("NOPE")
    assert error.sku == "NOPE"
    assert str(error) == "unknown SKU 'NOPE'"
