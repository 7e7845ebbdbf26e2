"""`orderflow demo` on the running stack: every order terminal, the mix priced by the
demo's price data (a trade group's list for the first demo customers, a contract), and
its returns finished."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import asyncpg

from .conftest import System

ORDERFLOW = str(Path(sys.executable).with_name("orderflow"))
SOURCES = """
    SELECT DISTINCT l->>'price_source' FROM checkout.orders o, jsonb_array_elements(o.lines) l
    WHERE o.customer_id LIKE 'cust-%'
"""


async def test_the_demo_finishes_every_order_with_list_prices_in_the_mix(system: System) -> None:
    demo = await asyncio.to_thread(
        subprocess.run,
        [ORDERFLOW, "demo", "--orders", "60", "--seed", "14", "--rate", "30", "--json"],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert demo.returncode == 0, demo.stderr[-2000:]
    summary = json.loads(demo.stdout.strip().splitlines()[-1])
    assert (summary["orders"], summary["pending"]) == (66, 0)  # 60 over HTTP, 6 upstream
    assert summary["upstream"] == {
        "submitted": 6, "accepted": 6, "rejected": 0, "cancellations": 3,
        "cancellations_accepted": 3, "cancellations_refused": 0, "unanswered": 0,
    }  # fmt: skip
    assert summary["cancelled"] >= 3
    returns = summary["returns"]  # a tenth of the completed orders, at least two
    assert returns["pending"] == 0, returns
    assert returns["requested"] >= 2
    assert returns["completed"] >= 1
    assert returns["refunded_minor"] > 0
    assert returns["failed"] == 0
    conn = await asyncpg.connect(system.settings["DATABASE_URL"])
    try:
        sources = {row[0] for row in await conn.fetch(SOURCES)}
    finally:
        await conn.close()
    assert {"base", "group:demo-trade"} <= sources, sources
