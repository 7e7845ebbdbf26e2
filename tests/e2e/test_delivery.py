"""Delivery options on the running stack: a home-delivery order and a pickup order carry
their methods' prices (by zone and weight; free over the threshold) in their totals, are
charged those totals, and are shipped by their methods' carriers (a pickup order to its
point); a method that cannot take an order is a 422 naming the field and why."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import httpx

from .conftest import System, get_json, new_product, order_body, place, until


def _zone(*bands: tuple[int, int]) -> list[dict[str, Any]]:
    return [
        {"zone": "de", "countries": ["DE"],
         "bands": [{"max_weight_g": w, "price_minor": p} for w, p in bands]}
    ]  # fmt: skip


async def _methods(http: httpx.AsyncClient, system: System) -> tuple[str, str, str]:
    """A home method (SimPost; 490 to 1 kg, 690 to 5 kg; free from 100 EUR) and a pickup
    method (SimPoint, 290, one point), of this test's own, known to checkout."""
    tag = uuid.uuid4().hex[:8]
    home, pickup, point = f"e2e-home-{tag}", f"e2e-pickup-{tag}", f"e2e-point-{tag}"
    bodies = {
        home: {
            "name": "Home", "kind": "home", "carrier": "SimPost", "currency": "EUR",
            "zones": _zone((1000, 490), (5000, 690)), "free_over_minor": 10_000,
        },
        pickup: {
            "name": "Pickup", "kind": "pickup", "carrier": "SimPoint", "currency": "EUR",
            "zones": _zone((5000, 290)),
            "pickup_points": [{
                "point_id": point, "name": "Kiosk", "line1": "Torstrasse 1", "city": "Berlin",
                "postcode": "10119", "country": "DE",
            }],
        },
    }  # fmt: skip
    for method_id, body in bodies.items():
        saved = await http.put(system.url("catalog") + f"/delivery-methods/{method_id}", json=body)
        assert saved.status_code == 200, saved.text
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        status, data = await get_json(http, system.url("checkout") + "/catalog/price-data")
        assert status == 200, data
        if {home, pickup} <= {d["id"] for d in data if d["kind"] == "delivery"}:
            return home, pickup, point
        await asyncio.sleep(0.2)
    raise AssertionError("checkout never got the delivery methods")


async def _placed(http: httpx.AsyncClient, system: System, order_id: str) -> dict[str, Any]:
    status, placed = await get_json(http, system.url("checkout") + f"/orders/{order_id}")
    assert status == 200, placed
    return dict(placed)


async def test_pickup_and_home_orders_carry_their_delivery_prices(
    http: httpx.AsyncClient, system: System
) -> None:
    home, pickup, point = await _methods(http, system)
    sku = await new_product(http, system, stock=50, price_minor=1500, weight_g=600)

    options = await http.get(
        system.url("catalog") + "/delivery-options",
        params={"country": "DE", "currency": "EUR", "weight_g": 1200, "basket_minor": 3000},
    )
    assert options.status_code == 200, options.text
    quoted = {(o["method_id"], o["price_minor"]) for o in options.json()}
    assert {(home, 690), (pickup, 290)} <= quoted

    body = order_body((sku, 2))  # 1200 g, 3000: home's 1-5 kg band
    at_home = await place(http, system, body | {"delivery": {"method": home}})
    to_point = await place(
        http, system, body | {"delivery": {"method": pickup, "pickup_point": point}}
    )
    free = await place(http, system, order_body((sku, 7)) | {"delivery": {"method": home}})

    expected = {at_home: (690, 3000 + 690), to_point: (290, 3000 + 290), free: (0, 10_500)}
    for order_id, (price, total) in expected.items():
        placed = await _placed(http, system, order_id)
        assert (placed["delivery"]["price_minor"], placed["total_minor"]) == (price, total)
        done = await until(http, system, order_id)
        assert done["status"] == "COMPLETED", done
        status, payment = await get_json(http, system.url("payment") + f"/payments/{order_id}")
        assert status == 200, payment
        assert (payment["status"], payment["captured_minor"]) == ("captured", total)
    assert (await _placed(http, system, free))["delivery"]["free"] is True

    status, home_parcel = await get_json(http, system.url("shipping") + f"/shipments/{at_home}")
    assert status == 200, home_parcel
    assert (home_parcel["method_id"], home_parcel["carrier"]) == (home, "SimPost")
    status, parcel = await get_json(http, system.url("shipping") + f"/shipments/{to_point}")
    assert status == 200, parcel
    assert (parcel["method_id"], parcel["carrier"]) == (pickup, "SimPoint")
    assert parcel["tracking_number"].startswith("SP")
    placed = await _placed(http, system, to_point)
    assert placed["delivery"]["pickup_point"]["postcode"] == "10119"


async def test_a_method_that_cannot_take_the_order_is_refused_with_its_reason(
    http: httpx.AsyncClient, system: System
) -> None:
    home, pickup, point = await _methods(http, system)
    sku = await new_product(http, system, stock=50, weight_g=2000)
    abroad = order_body((sku, 1))
    abroad["shipping_address"]["country"] = "US"
    cases = [
        (abroad | {"delivery": {"method": home}}, "delivery.method", "not available for US"),
        (order_body((sku, 3)) | {"delivery": {"method": home}}, "delivery.method", "6000 g"),
        (order_body((sku, 1)) | {"delivery": {"method": "nope"}}, "delivery.method", "unknown"),
        (order_body((sku, 1)) | {"delivery": {"method": pickup}}, "delivery.pickup_point",
         "choose a pickup point"),
        (order_body((sku, 1)) | {"delivery": {"method": pickup, "pickup_point": "x"}},
         "delivery.pickup_point", "unknown pickup point"),
        (order_body((sku, 1)) | {"delivery": {"method": home, "pickup_point": point}},
         "delivery.pickup_point", "delivers home"),
    ]  # fmt: skip
    for body, field, reason in cases:
        response = await http.post(
            system.url("checkout") + "/orders",
            json=body,
            headers={"Idempotency-Key": str(uuid.uuid4())},
        )
        assert response.status_code == 422, response.text
        [problem] = response.json()["detail"]
        assert problem["field"] == field, problem
        assert reason in problem["reason"], problem
