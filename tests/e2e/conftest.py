"""The whole system as real OS processes on the real broker and database.

The session (re)starts the six services with short saga deadlines, on the Kafka and
PostgreSQL that `make test` started, and stops them afterwards: the tests depend on
those deadlines, so services already running with other settings are restarted.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from orderflow_cli import stack
from orderflow_cli.stack import services

TERMINAL = {"COMPLETED", "REJECTED", "CANCELLED", "COMPENSATION_FAILED", "RESOLVED"}

TRACE_DIR = Path(tempfile.gettempdir()) / f"orderflow-e2e-spans-{os.getpid()}"

# Short deadlines so that timeouts and compensations finish within seconds.
TEST_ENV = {
    "ORDERS_STEP_TIMEOUT_S": "2",
    "ORDERS_STEP_RETRIES": "1",
    "ORDERS_COMPENSATION_RETRIES": "3",
    "PAYMENT_SLOW_DELAY_S": "8",
    "SHIPPING_SLOW_DELAY_S": "8",
    "SHIPPING_DISPATCH_AFTER_S": "6",
    "SHIPPING_DELIVER_AFTER_S": "1",
    "CONSUMER_BACKOFF_INITIAL_S": "0.1",
    # test_admission_burst: a burst of a few hundred requests passes this at once.
    "CHECKOUT_ADMISSION_MAX_IN_FLIGHT": "64",
    # test_tracing: every service writes its spans as JSON lines here, within ~0.2 s.
    "TRACING_EXPORTER": "file",
    "TRACING_FILE_DIR": str(TRACE_DIR),
    "TRACING_SAMPLE_RATIO": "1.0",
    "OTEL_BSP_SCHEDULE_DELAY": "200",
}


@dataclass(frozen=True)
class System:
    settings: dict[str, str]

    def url(self, service: str) -> str:
        return services.url(service)


@pytest.fixture(scope="session")
def system() -> Iterator[System]:
    settings = stack.read_env()
    if not settings:
        pytest.fail("the stack is not up: run `make test` (it starts it) or `orderflow up`")
    services.stop_all()
    os.environ.update(TEST_ENV)
    services.start_all(settings)
    try:
        yield System(settings)
    finally:
        services.stop_all()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=20.0) as client:
        yield client


def order_body(
    *lines: tuple[str, int], token: str = "tok_ok", postcode: str = "10115"
) -> dict[str, Any]:
    return {
        "customer_id": f"e2e-{uuid.uuid4().hex[:8]}",
        "lines": [{"sku": sku, "quantity": qty} for sku, qty in lines],
        "shipping_address": {
            "name": "E2E Tester",
            "line1": "1 Test Street",
            "city": "Berlin",
            "postcode": postcode,
            "country": "DE",
        },
        "payment_token": token,
        "currency": "EUR",
    }


async def place(
    http: httpx.AsyncClient, system: System, body: dict[str, Any], key: str | None = None
) -> str:
    response = await http.post(
        system.url("checkout") + "/orders",
        json=body,
        headers={"Idempotency-Key": key or str(uuid.uuid4())},
    )
    assert response.status_code == 202, response.text
    return str(response.json()["order_id"])


async def order(http: httpx.AsyncClient, system: System, order_id: str) -> dict[str, Any]:
    response = await http.get(system.url("orders") + f"/orders/{order_id}")
    if response.status_code == 404:
        return {"status": None}
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


async def until(
    http: httpx.AsyncClient,
    system: System,
    order_id: str,
    predicate: Any = lambda o: o["status"] in TERMINAL,
    timeout: float = 60.0,
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        current = await order(http, system, order_id)
        if current["status"] is not None and predicate(current):
            return current
        if time.monotonic() > deadline:
            raise AssertionError(f"order {order_id} stuck: {current}")
        await asyncio.sleep(0.2)


async def get_json(http: httpx.AsyncClient, url: str) -> tuple[int, Any]:
    response = await http.get(url)
    return response.status_code, (response.json() if response.content else None)


async def new_product(
    http: httpx.AsyncClient,
    system: System,
    *,
    stock: int,
    price_minor: int = 1000,
    weight_g: int | None = None,
) -> str:
    """A SKU of this test's own, stocked and known to checkout: no shared-state noise."""
    sku = f"E2E-{uuid.uuid4().hex[:10].upper()}"
    body = {"sku": sku, "name": f"Test {sku}", "price_minor": price_minor, "currency": "EUR"}
    if weight_g is not None:
        body["weight_g"] = weight_g
    created = await http.post(system.url("catalog") + "/products", json=body)
    assert created.status_code in (200, 201), created.text
    stocked = await http.put(system.url("inventory") + f"/stock/{sku}", json={"available": stock})
    assert stocked.status_code == 200, stocked.text
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        status, item = await get_json(http, system.url("checkout") + "/catalog")
        if status == 200 and any(i["sku"] == sku for i in item):
            return sku
        await asyncio.sleep(0.2)
    raise AssertionError(f"checkout never learned about {sku}")


async def stock_of(http: httpx.AsyncClient, system: System, sku: str) -> dict[str, int]:
    status, body = await get_json(http, system.url("inventory") + f"/stock/{sku}")
    assert status == 200
    return {k: body[k] for k in ("initial", "available", "reserved", "committed")}
