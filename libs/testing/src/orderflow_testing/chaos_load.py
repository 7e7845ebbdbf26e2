"""Load for chaos tests: orders placed through checkout's HTTP API at a steady rate.

The generator runs in background threads so a test can inject faults while orders flow.
A request that fails (connection refused, timeout, 5xx) is retried with the same
Idempotency-Key a bounded number of times; an order whose placement never got a 202 is
recorded as not accepted (it is not part of what the system promised).
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx

SKUS = (
    "TEE-BLK-M", "TEE-WHT-L", "HOODIE-GRY-M", "CAP-NVY", "MUG-ENAMEL",
    "BOTTLE-750", "SOCKS-3PK", "TOTE-CANVAS",
)  # fmt: skip

# (weight, payment token, postcode): mostly happy orders, a few of each failure.
DEFAULT_MIX: tuple[tuple[int, str, str], ...] = (
    (85, "tok_ok", "10115"),
    (4, "tok_flaky", "10115"),
    (4, "tok_decline", "10115"),
    (4, "tok_ok", "00999"),
    (3, "tok_timeout", "10115"),
)
COMPENSATING_MIX: tuple[tuple[int, str, str], ...] = (
    (40, "tok_decline", "10115"),
    (40, "tok_ok", "00999"),
    (20, "tok_ok", "10115"),
)


def order_body(rng: random.Random, token: str, postcode: str) -> dict[str, Any]:
    return {
        "customer_id": f"chaos-{rng.randint(1, 200)}",
        "lines": [{"sku": rng.choice(SKUS), "quantity": 1} for _ in range(rng.randint(1, 2))],
        "shipping_address": {
            "name": "Chaos Tester",
            "line1": "1 Fault Street",
            "city": "Berlin",
            "postcode": postcode,
            "country": "DE",
        },
        "payment_token": token,
        "currency": "EUR",
    }


@dataclass
class Placed:
    key: str
    token: str
    postcode: str
    order_id: str | None = None
    status_code: int | None = None
    error: str | None = None
    attempts: int = 0


@dataclass
class Load:
    """``count`` orders at ``rate`` per second against ``checkout_url``."""

    checkout_url: str
    count: int
    rate: float = 10.0
    mix: Sequence[tuple[int, str, str]] = DEFAULT_MIX
    seed: int | None = None
    attempts: int = 8
    request_timeout_s: float = 10.0
    workers: int = 6
    orders: list[Placed] = field(default_factory=list)
    _thread: threading.Thread | None = None

    def start(self) -> Load:
        self._thread = threading.Thread(target=self.run, name="chaos-load", daemon=True)
        self._thread.start()
        return self

    def join(self, timeout: float) -> list[str]:
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                raise TimeoutError(f"load still placing orders after {timeout}s")
        return self.accepted

    @property
    def accepted(self) -> list[str]:
        return [o.order_id for o in self.orders if o.order_id]

    def by_token(self, *tokens: str) -> list[str]:
        return [o.order_id for o in self.orders if o.order_id and o.token in tokens]

    def run(self) -> list[str]:
        rng = random.Random(self.seed)
        weights = [m[0] for m in self.mix]
        picks = [rng.choices(self.mix, weights)[0] for _ in range(self.count)]
        self.orders = [Placed(str(uuid.uuid4()), tok, pc) for _, tok, pc in picks]
        bodies = [order_body(rng, o.token, o.postcode) for o in self.orders]
        start = time.monotonic()
        with (
            httpx.Client(timeout=self.request_timeout_s) as client,
            ThreadPoolExecutor(self.workers) as pool,
        ):
            futures: list[Future[None]] = []
            for index, (order, body) in enumerate(zip(self.orders, bodies, strict=True)):
                time.sleep(max(0.0, start + index / self.rate - time.monotonic()))
                futures.append(pool.submit(self._place, client, order, body))
            for future in futures:
                future.result()
        return self.accepted

    def _place(self, client: httpx.Client, order: Placed, body: dict[str, Any]) -> None:
        for attempt in range(self.attempts):
            order.attempts = attempt + 1
            try:
                response = client.post(
                    self.checkout_url + "/orders", json=body, headers={"Idempotency-Key": order.key}
                )
            except httpx.HTTPError as exc:
                order.error = repr(exc)
                time.sleep(min(2.0, 0.25 * 2**attempt))
                continue
            order.status_code = response.status_code
            if response.status_code == 202:
                order.order_id = str(response.json()["order_id"])
                order.error = None
                return
            order.error = response.text[:200]
            if response.status_code < 500:
                return
            time.sleep(min(2.0, 0.25 * 2**attempt))


def place_orders(
    checkout_url: str,
    count: int,
    *,
    rate: float = 10.0,
    mix: Sequence[tuple[int, str, str]] = DEFAULT_MIX,
    seed: int | None = None,
) -> list[str]:
    """Place ``count`` orders now (blocking); return the accepted order ids."""
    return Load(checkout_url, count, rate=rate, mix=mix, seed=seed).run()


def wait_for_catalog(checkout_url: str, timeout: float = 60.0) -> None:
    """Checkout learns the catalog from events: wait until it knows every SKU used here."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            response = httpx.get(checkout_url + "/catalog", timeout=5.0)
            if response.status_code == 200 and set(SKUS) <= {i["sku"] for i in response.json()}:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise TimeoutError("checkout has not received the catalog")
