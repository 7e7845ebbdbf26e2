"""The "bought together" projection on the running stack: orders placed through
checkout feed the catalog's projection (never a call between the services), the
catalog serves a product's recommendations, and `orderflow replay projection
bought-together --compare` rebuilds the same counts from checkout.events."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from .conftest import System, get_json, new_product, order_body, place

ORDERFLOW = str(Path(sys.executable).with_name("orderflow"))


async def _recommended(
    http: httpx.AsyncClient, system: System, sku: str, want: list[tuple[str, int]]
) -> list[dict[str, Any]]:
    url = system.url("catalog") + f"/products/{sku}/bought-together"
    deadline = time.monotonic() + 60
    while True:
        status, found = await get_json(http, url)
        assert status == 200, found
        if [(r["sku"], r["orders"]) for r in found] == want or time.monotonic() > deadline:
            return list(found)
        await asyncio.sleep(0.3)


async def test_bought_together_is_served_and_rebuilt_alike(
    http: httpx.AsyncClient, system: System
) -> None:
    tee, mug, cap = [await new_product(http, system, stock=100) for _ in range(3)]
    baskets = [((tee, 1), (mug, 2))] * 3 + [((tee, 1), (cap, 1))] * 2 + [((mug, 1), (cap, 1))]
    for lines in baskets:
        await place(http, system, order_body(*lines))

    found = await _recommended(http, system, tee, [(mug, 3), (cap, 2)])
    assert [(r["sku"], r["orders"]) for r in found] == [(mug, 3), (cap, 2)]
    assert (await _recommended(http, system, cap, [(tee, 2), (mug, 1)]))[0]["sku"] == tee

    run = [ORDERFLOW, "replay", "projection", "bought-together", "--compare", "--json"]
    done = await asyncio.to_thread(subprocess.run, run, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads(done.stdout)
    assert result["compare"]["differences"] == 0
    assert result["compare"]["live_caught_up"] is True
    assert result["records"]["applied"] >= len(baskets)
    conn = await asyncpg.connect(system.settings["DATABASE_URL"])
    try:
        query = "SELECT other, orders FROM {}.bought_together WHERE sku = $1 ORDER BY other"
        rebuilt = await conn.fetch(query.format(result["schema"]), tee)
        await conn.execute(f'DROP SCHEMA "{result["schema"]}" CASCADE')
    finally:
        await conn.close()
    assert sorted((r["other"], r["orders"]) for r in rebuilt) == sorted([(mug, 3), (cap, 2)])
