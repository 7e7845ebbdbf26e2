"""An HTTP burst beyond capacity, on the real stack (uvicorn, PostgreSQL, Kafka): every
answer is a 202 or a 503 with Retry-After and the reason, never another 5xx or a
timeout; the refused requests, sent again after the advised wait with the same key,
are placed; every accepted order completes, none twice."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter

import httpx
import pytest

from orderflow_cli.placing import post_order

from .conftest import System, new_product, order_body, until

pytestmark = pytest.mark.integration

BURST = 300


async def test_a_burst_gets_202s_and_503s_only_and_loses_nothing(
    http: httpx.AsyncClient, system: System
) -> None:
    sku = await new_product(http, system, stock=BURST)
    url = system.url("checkout") + "/orders"
    bodies = {str(uuid.uuid4()): order_body((sku, 1)) for _ in range(BURST)}
    limits = httpx.Limits(max_connections=BURST, max_keepalive_connections=BURST)
    async with httpx.AsyncClient(timeout=30.0, limits=limits) as burst:
        answers = dict(
            zip(
                bodies,
                await asyncio.gather(
                    *(
                        burst.post(url, json=b, headers={"Idempotency-Key": k})
                        for k, b in bodies.items()
                    )
                ),
                strict=True,
            )
        )
        statuses = Counter(a.status_code for a in answers.values())
        assert set(statuses) <= {202, 503}, statuses
        assert statuses[503] > 0, f"the burst never passed the in-flight bound: {statuses}"
        refused = [key for key, answer in answers.items() if answer.status_code == 503]
        for key in refused:
            assert answers[key].headers["Retry-After"].isdigit()
            assert "overloaded" in answers[key].json()["detail"][0]["reason"]

        again = await asyncio.gather(
            *(post_order(burst, url, bodies[key], key, budget_s=120) for key in refused)
        )
    assert {placement.response.status_code for placement in again} == {202}
    order_ids = [a.json()["order_id"] for a in answers.values() if a.status_code == 202]
    order_ids += [placement.response.json()["order_id"] for placement in again]
    assert len(set(order_ids)) == BURST
    finished = await asyncio.gather(
        *(until(http, system, order_id, timeout=180) for order_id in order_ids)
    )
    assert Counter(o["status"] for o in finished) == {"COMPLETED": BURST}
