"""Coupons on the running stack: 50 concurrent checkouts on a coupon with 10 uses. Each
order is placed with the discount (checkout applies the coupon from its copy); the saga
redeems the coupon first, so exactly 10 orders ever hold a use, the other 40 are
rejected for it with nothing reserved, and an order that held a use and then failed
(a declined card) gives it back: the coupon's count ends at the completed orders."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import httpx

from .conftest import System, get_json, new_product, order_body, place, until

USES = 10
CHECKOUTS = 50


async def _checkout_holds_promotion(
    http: httpx.AsyncClient, system: System, promotion_id: str, timeout: float = 30.0
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, data = await get_json(http, system.url("checkout") + "/catalog/price-data")
        assert status == 200, data
        if any(d["kind"] == "promotion" and d["id"] == promotion_id for d in data):
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"checkout never got promotion {promotion_id}")


async def _coupon(http: httpx.AsyncClient, system: System, sku: str, uses: int) -> tuple[str, str]:
    tag = uuid.uuid4().hex[:8]
    promotion_id, code = f"e2e-coupon-{tag}", f"E2E{tag.upper()}"
    body = {"code": code, "kind": "percent", "value": 1000, "skus": [sku], "global_limit": uses}
    saved = await http.put(system.url("catalog") + f"/promotions/{promotion_id}", json=body)
    assert saved.status_code == 200, saved.text
    await _checkout_holds_promotion(http, system, promotion_id)
    return promotion_id, code


async def _redeemed(http: httpx.AsyncClient, system: System, promotion_id: str) -> int:
    status, promotion = await get_json(http, system.url("catalog") + f"/promotions/{promotion_id}")
    assert status == 200, promotion
    return int(promotion["redeemed"])


def _with_coupon(sku: str, code: str, token: str = "tok_ok") -> dict[str, Any]:
    return order_body((sku, 1), token=token) | {"coupons": [code.lower()]}


async def test_fifty_concurrent_checkouts_on_a_coupon_with_ten_uses(
    http: httpx.AsyncClient, system: System
) -> None:
    sku = await new_product(http, system, stock=1000, price_minor=2000)
    promotion_id, code = await _coupon(http, system, sku, USES)

    unknown = order_body((sku, 1)) | {"coupons": ["NO-SUCH-COUPON"]}
    refused = await http.post(
        system.url("checkout") + "/orders", json=unknown, headers={"Idempotency-Key": code}
    )
    assert refused.status_code == 422, refused.text
    assert {"field": "coupons[0]", "reason": "unknown coupon"} in refused.json()["detail"]

    order_ids = await asyncio.gather(
        *(place(http, system, _with_coupon(sku, code)) for _ in range(CHECKOUTS))
    )
    for order_id in order_ids:  # each placed with the discount, before any redemption
        status, placed = await get_json(http, system.url("checkout") + f"/orders/{order_id}")
        assert status == 200, placed
        assert placed["total_minor"] == 1800
        assert placed["lines"][0]["promotions"] == [promotion_id]
        assert placed["discounts"] == [
            {"promotion_id": promotion_id, "code": code, "amount_minor": 200, "limited": True}
        ]
    outcomes = [await until(http, system, order_id, timeout=120) for order_id in order_ids]
    completed = [o for o in outcomes if o["status"] == "COMPLETED"]
    rejected = [o for o in outcomes if o["status"] == "REJECTED"]
    assert (len(completed), len(rejected)) == (USES, CHECKOUTS - USES), outcomes
    assert all(o["total_minor"] == 1800 for o in completed)  # charged with the discount
    refusal = f"promotion refused: {promotion_id} has no use left"
    assert all(o["reason"] == refusal for o in rejected)
    assert await _redeemed(http, system, promotion_id) == USES


async def test_a_failed_order_gives_its_coupon_use_back(
    http: httpx.AsyncClient, system: System
) -> None:
    sku = await new_product(http, system, stock=100, price_minor=2000)
    promotion_id, code = await _coupon(http, system, sku, uses=2)
    declined = await place(http, system, _with_coupon(sku, code, token="tok_decline"))
    cancelled = await until(http, system, declined)
    assert cancelled["status"] == "CANCELLED", cancelled
    assert await _redeemed(http, system, promotion_id) == 0  # released by the compensation
    # Both uses are there for the next two orders, and no third.
    first, second, third = [
        await until(http, system, await place(http, system, _with_coupon(sku, code)))
        for _ in range(3)
    ]
    assert [first["status"], second["status"], third["status"]] == [
        "COMPLETED", "COMPLETED", "REJECTED"
    ]  # fmt: skip
    assert await _redeemed(http, system, promotion_id) == 2
