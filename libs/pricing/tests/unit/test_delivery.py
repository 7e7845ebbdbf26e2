"""Delivery pricing: rates by zone and weight, free shipping over a threshold, pickup
points; every refusal names its field and reason."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orderflow_pricing import (
    Band,
    DeliveryKind,
    DeliveryMethod,
    DeliveryProblem,
    PickupPoint,
    Zone,
    delivery_options,
    quote_delivery,
)

HOME = DeliveryMethod(
    "standard", "Standard", DeliveryKind.HOME, "SimPost", "EUR",
    zones=(
        Zone("domestic", frozenset({"DE"}), (Band(1000, 490), Band(5000, 690))),
        Zone("eu", frozenset({"AT", "FR", "NL"}), (Band(2000, 990),)),
    ),
    free_over_minor=5000,
)  # fmt: skip
POINT_DE = PickupPoint("berlin-1", "Kiosk Mitte", "Torstr. 1", "Berlin", "10119", "DE")
POINT_AT = PickupPoint("wien-1", "Trafik", "Ring 1", "Wien", "1010", "AT")
PICKUP = DeliveryMethod(
    "pickup", "Pickup point", DeliveryKind.PICKUP, "SimPoint", "EUR",
    zones=(Zone("all", frozenset({"DE", "AT"}), (Band(10_000, 290),)),),
    pickup_points=(POINT_DE, POINT_AT),
)  # fmt: skip


def quote(method: DeliveryMethod, **kw: object) -> int:
    args: dict[str, object] = {
        "country": "DE", "weight_g": 500, "basket_minor": 1000, "currency": "EUR"
    } | kw  # fmt: skip
    return quote_delivery(method, **args).price_minor  # type: ignore[arg-type]


def test_home_delivery_is_priced_by_zone_and_weight() -> None:
    assert quote(HOME) == 490
    assert quote(HOME, weight_g=1000) == 490
    assert quote(HOME, weight_g=1001) == 690
    assert quote(HOME, country="FR", weight_g=1500) == 990


def test_over_the_threshold_it_ships_free() -> None:
    assert quote(HOME, basket_minor=4999) == 490
    full = quote_delivery(HOME, country="DE", weight_g=500, basket_minor=5000, currency="EUR")
    assert (full.price_minor, full.free, full.zone) == (0, True, "domestic")


def test_a_pickup_order_is_priced_to_its_point() -> None:
    chosen = quote_delivery(
        PICKUP, country="FR", weight_g=500, basket_minor=1, currency="EUR",
        pickup_point_id="wien-1",
    )  # fmt: skip
    assert (chosen.price_minor, chosen.pickup_point) == (290, POINT_AT)


@pytest.mark.parametrize(
    ("method", "kw", "field", "reason"),
    [
        (HOME, {"country": "US"}, "method", "'standard' is not available for US"),
        (HOME, {"weight_g": 5001}, "method", "takes up to 5000 g to DE, not 5001 g"),
        (HOME, {"currency": "GBP"}, "method", "serves EUR orders"),
        (HOME, {"pickup_point_id": "berlin-1"}, "pickup_point", "delivers home"),
        (PICKUP, {}, "pickup_point", "choose a pickup point"),
        (PICKUP, {"pickup_point_id": "x"}, "pickup_point", "unknown pickup point 'x'"),
    ],
)
def test_a_method_that_cannot_take_the_order_says_why(
    method: DeliveryMethod, kw: dict[str, object], field: str, reason: str
) -> None:
    with pytest.raises(DeliveryProblem, match=reason) as refused:
        quote(method, **kw)
    assert refused.value.field == field


def test_inconsistent_methods_are_refused() -> None:
    with pytest.raises(ValueError, match="increasing"):
        DeliveryMethod(
            "m", "M", DeliveryKind.HOME, "C", "EUR",
            zones=(Zone("z", frozenset({"DE"}), (Band(2000, 1), Band(1000, 2))),),
        )  # fmt: skip
    with pytest.raises(ValueError, match="two zones"):
        DeliveryMethod(
            "m", "M", DeliveryKind.HOME, "C", "EUR",
            zones=(Zone("a", frozenset({"DE"}), (Band(1, 1),)),
                   Zone("b", frozenset({"DE"}), (Band(1, 1),))),
        )  # fmt: skip
    with pytest.raises(ValueError, match="pickup points"):
        DeliveryMethod("m", "M", DeliveryKind.PICKUP, "C", "EUR", zones=())


def test_the_options_are_what_can_take_the_order_cheapest_first() -> None:
    options = delivery_options(
        [HOME, PICKUP], country="DE", weight_g=500, basket_minor=1000, currency="EUR"
    )
    assert [(q.method.method_id, q.price_minor) for q in options] == [
        ("pickup", 290), ("standard", 490)
    ]  # fmt: skip
    assert options[0].pickup_point == POINT_DE  # only the points in the shopper's country
    assert delivery_options([HOME], country="US", weight_g=1, basket_minor=1, currency="EUR") == []


def test_the_json_shape_reads_back_as_the_same_method() -> None:
    for method in (HOME, PICKUP):
        assert DeliveryMethod.from_json(json.loads(json.dumps(method.to_json()))) == method


@settings(max_examples=300, deadline=None)
@given(
    weight=st.integers(0, 6000),
    more=st.integers(0, 6000),
    basket=st.integers(0, 10_000),
    country=st.sampled_from(["DE", "AT", "FR", "NL", "US"]),
)
def test_a_price_is_never_negative_and_never_falls_as_the_parcel_grows(
    weight: int, more: int, basket: int, country: str
) -> None:
    def price(w: int) -> int | None:
        try:
            return quote(HOME, country=country, weight_g=w, basket_minor=basket)
        except DeliveryProblem:
            return None

    light, heavy = price(weight), price(weight + more)
    if light is not None:
        assert light >= 0
        assert (light == 0) == (basket >= 5000)
    if light is not None and heavy is not None:
        assert heavy >= light
    if light is None:
        assert heavy is None  # too heavy (or nowhere) stays so
