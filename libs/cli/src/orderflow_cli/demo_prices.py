"""The demo's price data: a trade group (the first demo customers) with its own list and
one customer with a contract, so a demo mixes base, group and contract prices; a cart
rule on mugs and a coupon (``DEMO10``: once per customer), so it has discounts and
coupon refusals. Only demo customers (``cust-N``) are in the lists: other clients of the
stack keep the catalog's prices (the cart rule applies to everyone's mugs); a bundle
(``DEMO-KIT``: a tee and a mug, 10 % less than the two), reserved as its components;
and three delivery methods (home by SimPost, free over 60 EUR; express by SimExpress;
pickup at two Berlin points by SimPoint). Every call is idempotent, so a second demo
changes nothing."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

from orderflow_cli.stack import services

TRADE_CUSTOMERS = tuple(f"cust-{n}" for n in range(1, 101))
CONTRACT_CUSTOMER = "cust-7"


def _prices(*entries: tuple[str, tuple[tuple[int, int], ...]]) -> list[dict[str, Any]]:
    return [
        {"sku": sku, "tiers": [{"min_quantity": q, "unit_price_minor": p} for q, p in tiers]}
        for sku, tiers in entries
    ]


PRICE_LISTS: dict[str, dict[str, Any]] = {
    "demo-trade": {
        "kind": "group", "group": "trade", "currency": "EUR",
        "prices": _prices(("TEE-BLK-M", ((1, 1690), (3, 1590))), ("MUG-ENAMEL", ((1, 1050),))),
    },
    "demo-contract-cust-7": {
        "kind": "contract", "customer_id": CONTRACT_CUSTOMER, "currency": "EUR",
        "prices": _prices(("TEE-BLK-M", ((1, 1490),)), ("HOODIE-GRY-M", ((1, 4900),))),
    },
}  # fmt: skip


DEMO_COUPON = "DEMO10"
PROMOTIONS: dict[str, dict[str, Any]] = {
    "demo-mugs": {"kind": "percent", "value": 500, "skus": ["MUG-ENAMEL"]},
    "demo-ten": {
        "code": DEMO_COUPON, "kind": "percent", "value": 1000,
        "global_limit": 100_000, "per_customer_limit": 1,
    },
}  # fmt: skip


def _zone(zone: str, countries: list[str], *bands: tuple[int, int]) -> dict[str, Any]:
    return {
        "zone": zone, "countries": countries,
        "bands": [{"max_weight_g": w, "price_minor": p} for w, p in bands],
    }  # fmt: skip


def _point(point_id: str, name: str, line1: str, postcode: str) -> dict[str, Any]:
    return {
        "point_id": point_id, "name": name, "line1": line1, "city": "Berlin",
        "postcode": postcode, "country": "DE",
    }  # fmt: skip


DEMO_HOME, DEMO_EXPRESS, DEMO_PICKUP = "demo-home", "demo-express", "demo-pickup"
DEMO_PICKUP_POINTS = ("demo-mitte", "demo-prenzlauer-berg")
DELIVERY_METHODS: dict[str, dict[str, Any]] = {
    DEMO_HOME: {
        "name": "Standard home delivery", "kind": "home", "carrier": "SimPost",
        "currency": "EUR", "free_over_minor": 6000,
        "zones": [
            _zone("de", ["DE"], (1000, 490), (5000, 690), (20000, 990)),
            _zone("eu", ["AT", "BE", "FR", "NL", "PL"], (5000, 1290), (20000, 1990)),
        ],
    },
    DEMO_EXPRESS: {
        "name": "Express home delivery", "kind": "home", "carrier": "SimExpress",
        "currency": "EUR", "zones": [_zone("de", ["DE"], (5000, 1290), (20000, 1790))],
    },
    DEMO_PICKUP: {
        "name": "Pickup point", "kind": "pickup", "carrier": "SimPoint", "currency": "EUR",
        "zones": [_zone("de", ["DE"], (10000, 290))],
        "pickup_points": [
            _point(DEMO_PICKUP_POINTS[0], "Kiosk Mitte", "Torstrasse 1", "10119"),
            _point(DEMO_PICKUP_POINTS[1], "Späti Prenzlauer Berg", "Kastanienallee 2", "10435"),
        ],
    },
}  # fmt: skip


DEMO_BUNDLE = "DEMO-KIT"
BUNDLE = {
    "sku": DEMO_BUNDLE, "name": "Demo kit: a tee and a mug", "currency": "EUR",
    "discount_bp": 1000,
    "components": [{"sku": "TEE-BLK-M", "quantity": 1}, {"sku": "MUG-ENAMEL", "quantity": 1}],
}  # fmt: skip


async def set_up_bundle(client: httpx.AsyncClient, timeout_s: float = 60.0) -> None:
    """Create the demo's bundle (a 409: made by an earlier demo) and stock nothing for it
    (its components are stocked); wait until checkout sells it."""
    response = await client.post(services.url("catalog") + "/bundles", json=BUNDLE)
    if response.status_code != 409:
        response.raise_for_status()
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        response = await client.get(services.url("checkout") + "/catalog")
        if response.status_code == 200 and any(i["sku"] == DEMO_BUNDLE for i in response.json()):
            return
        await asyncio.sleep(0.5)
    raise RuntimeError("checkout has not received the demo's bundle")


async def set_up_price_data(client: httpx.AsyncClient, timeout_s: float = 60.0) -> None:
    """Save the demo's lists and groups in the catalog, then wait until checkout's copy
    holds them (else the first orders would be charged the base price)."""
    catalog = services.url("catalog")
    wanted: dict[tuple[str, str], int] = {}
    for list_id, body in PRICE_LISTS.items():
        response = await client.put(f"{catalog}/price-lists/{list_id}", json=body)
        response.raise_for_status()
        wanted[("list", list_id)] = response.json()["revision"]
    for customer in TRADE_CUSTOMERS:
        response = await client.put(
            f"{catalog}/customers/{customer}/price-groups", json={"groups": ["trade"]}
        )
        response.raise_for_status()
        wanted[("customer", customer)] = response.json()["revision"]
    for promotion_id, body in PROMOTIONS.items():
        response = await client.put(f"{catalog}/promotions/{promotion_id}", json=body)
        response.raise_for_status()
        wanted[("promotion", promotion_id)] = response.json()["revision"]
    for method_id, body in DELIVERY_METHODS.items():
        response = await client.put(f"{catalog}/delivery-methods/{method_id}", json=body)
        response.raise_for_status()
        wanted[("delivery", method_id)] = response.json()["revision"]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        response = await client.get(services.url("checkout") + "/catalog/price-data")
        if response.status_code == 200:
            held = {(d["kind"], d["id"]): d["revision"] for d in response.json()}
            if all(held.get(key, 0) >= revision for key, revision in wanted.items()):
                return
        await asyncio.sleep(0.5)
    raise RuntimeError("checkout has not received the demo's price data")
