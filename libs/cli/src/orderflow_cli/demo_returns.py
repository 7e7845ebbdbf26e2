"""The demo's returns: a tenth of the completed orders (at least two) are returned, as a
customer and a warehouse would do it over the orders service's API. Once an order is
delivered, its customer asks to return one unit of its first line; the warehouse then
receives the parcel: mostly sellable (restocked), every third damaged (written off);
every fourth return is cancelled by its customer before sending it, and an order with
socks asks to return them (refused by the policy: docs/returns.md).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from orderflow_cli.stack import services

FINAL = ("completed", "rejected", "cancelled", "failed")
NOT_RETURNABLE = "SOCKS-3PK"


@dataclass
class DemoReturn:
    order_id: str
    sku: str
    plan: str  # "sellable" | "damaged" | "cancel" | "refused"
    return_id: str | None = None
    status: str | None = None
    refund_minor: int = 0
    error: str | None = None


def pick_returns(completed: list[tuple[str, list[dict[str, Any]]]]) -> list[DemoReturn]:
    """From (order id, lines) of completed orders delivered to a home or pickup point."""
    count = max(2, len(completed) // 10)
    picked: list[DemoReturn] = []
    socks = next((o for o, lines in completed if lines[0]["sku"] == NOT_RETURNABLE), None)
    if socks is not None:
        picked.append(DemoReturn(socks, NOT_RETURNABLE, "refused"))
    plans = ("sellable", "damaged", "sellable", "cancel")
    for n, (order_id, lines) in enumerate(
        (o, ln) for o, ln in completed if ln[0]["sku"] != NOT_RETURNABLE
    ):
        if len(picked) >= count:
            break
        picked.append(DemoReturn(order_id, lines[0]["sku"], plans[n % len(plans)]))
    return picked


async def run_returns(
    client: httpx.AsyncClient, returns: list[DemoReturn], timeout_s: float
) -> None:
    deadline = time.monotonic() + timeout_s
    await asyncio.gather(*(_one(client, r, deadline) for r in returns))


async def _one(client: httpx.AsyncClient, item: DemoReturn, deadline: float) -> None:
    base = services.url("orders")
    try:
        await _until(client, f"{base}/orders/{item.order_id}",
                     lambda o: o["fulfilment"]["delivered"], deadline)  # fmt: skip
        key = str(uuid.uuid5(uuid.NAMESPACE_URL, f"demo-return:{item.order_id}"))
        asked = await client.post(
            f"{base}/orders/{item.order_id}/returns",
            json={"lines": [{"sku": item.sku, "quantity": 1}], "reason": "does not fit"},
            headers={"Idempotency-Key": key},
        )
        if asked.status_code not in (200, 201):
            item.error = f"{asked.status_code}: {asked.text[:200]}"
            return
        item.return_id = asked.json()["return_id"]
        url = f"{base}/returns/{item.return_id}"
        if item.plan == "cancel":
            await client.post(f"{url}/cancel", json={"reason": "changed my mind"})
        elif asked.json()["status"] == "approved":
            await _until(client, url, lambda r: r["status"] != "approved", deadline)
            condition = "damaged" if item.plan == "damaged" else "sellable"
            receipt = {"lines": [{"sku": item.sku, "quantity": 1, "condition": condition}]}
            await client.post(f"{url}/receipt", json=receipt)
        done = await _until(client, url, lambda r: r["status"] in FINAL, deadline)
        item.status, item.refund_minor = done["status"], done["refund_minor"]
    except (httpx.HTTPError, TimeoutError) as exc:
        item.error = repr(exc)


async def _until(
    client: httpx.AsyncClient, url: str, predicate: Any, deadline: float
) -> dict[str, Any]:
    while True:
        response = await client.get(url)
        if response.status_code == 200 and predicate(response.json()):
            return dict(response.json())
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url}: not there in time")
        await asyncio.sleep(0.5)


def returns_summary(returns: list[DemoReturn]) -> dict[str, Any]:
    counts = {status: sum(1 for r in returns if r.status == status) for status in FINAL}
    return {
        "requested": sum(1 for r in returns if r.return_id),
        **counts,
        "pending": sum(1 for r in returns if r.status not in FINAL),
        "refunded_minor": sum(r.refund_minor for r in returns),
    }
