"""Scenario: a return's refund is done and its restock is due when a service crashes
(exit 86, like kill -9): the coordinator with the refund folded and the restock queued,
or inventory with the goods restocked, neither committed. Restarted without the crash
point, the return completes with one refund and one restock, and every invariant holds."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import asyncpg
import httpx
import pytest

from orderflow_testing.chaos import CRASH_EXIT_CODE, Cluster

from .conftest import assert_verified

pytestmark = [pytest.mark.chaos, pytest.mark.timeout(300)]

CASES = [
    ("orders", "orders.after_return_refund"),  # refund folded, restock queued
    ("inventory", "inventory.after_restock"),  # goods restocked, not committed
]


def _until(client: httpx.Client, url: str, predicate: Any, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        response = client.get(url)
        if response.status_code == 200 and predicate(response.json()):
            return dict(response.json())
        assert time.monotonic() < deadline, f"{url}: {response.text[:500]}"
        time.sleep(0.3)


def _delivered_order(client: httpx.Client, cluster: Cluster) -> tuple[str, str]:
    body = {
        "customer_id": f"chaos-return-{uuid.uuid4().hex[:6]}",
        "lines": [{"sku": "MUG-ENAMEL", "quantity": 2}, {"sku": "CAP-NVY", "quantity": 1}],
        "shipping_address": {"name": "Chaos Tester", "line1": "1 Fault Street",
                             "city": "Berlin", "postcode": "10115", "country": "DE"},
        "payment_token": "tok_ok", "currency": "EUR",
    }  # fmt: skip
    placed = client.post(cluster.url("checkout") + "/orders", json=body,
                         headers={"Idempotency-Key": str(uuid.uuid4())})  # fmt: skip
    assert placed.status_code == 202, placed.text
    order_id = str(placed.json()["order_id"])
    _until(client, cluster.url("orders") + f"/orders/{order_id}",
           lambda o: o["fulfilment"]["delivered"], 90)  # fmt: skip
    return order_id, "MUG-ENAMEL"


async def _effects(admin_url: str, order_id: str) -> tuple[int, int]:
    conn = await asyncpg.connect(admin_url)
    try:
        refunds = await conn.fetchval(
            "SELECT count(*) FROM payment.gateway_ledger WHERE order_id = $1 AND kind = 'refund'"
            " AND result = 'approved'",
            order_id,
        )
        receipts = await conn.fetchval(
            "SELECT count(*) FROM inventory.return_receipts WHERE order_id = $1", order_id
        )
        return int(refunds), int(receipts)
    finally:
        await conn.close()


@pytest.mark.parametrize(("service", "point"), CASES, ids=[p for _, p in CASES])
def test_a_crash_between_refund_and_restock_refunds_and_restocks_once(
    cluster: Cluster, service: str, point: str
) -> None:
    with httpx.Client(timeout=20) as client:
        order_id, sku = _delivered_order(client, cluster)
        stock = client.get(cluster.url("inventory") + f"/stock/{sku}").json()
        cluster.terminate(service)
        cluster.start_service(service, {"ORDERFLOW_CRASH_POINTS": point})
        asked = client.post(
            cluster.url("orders") + f"/orders/{order_id}/returns",
            json={"lines": [{"sku": sku, "quantity": 2}], "reason": "chipped"},
            headers={"Idempotency-Key": str(uuid.uuid4())},
        )
        assert asked.status_code == 201, asked.text
        url = cluster.url("orders") + f"/returns/{asked.json()['return_id']}"
        _until(client, url, lambda r: r["status"] == "label_issued", 60)
        receipt = {"lines": [{"sku": sku, "quantity": 2, "condition": "sellable"}]}
        assert client.post(url + "/receipt", json=receipt).status_code == 202
        code = cluster.exit_code(service, timeout=60)
        assert code == CRASH_EXIT_CODE, f"{service} did not crash at {point} (exit {code})"
        cluster.start_service(service)
        done = _until(client, url, lambda r: r["status"] in ("completed", "failed"), 120)
        assert done["status"] == "completed", done
        after = client.get(cluster.url("inventory") + f"/stock/{sku}").json()
    assert after["available"] == stock["available"] + 2
    assert after["committed"] == stock["committed"] - 2
    assert asyncio.run(_effects(cluster.admin_url, order_id)) == (1, 1)
    report = cluster.settle(timeout=120)
    assert_verified(report)
