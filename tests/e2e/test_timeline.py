"""`orderflow timeline`: one order's messages across every service, in order."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import httpx

from .conftest import System, new_product, order_body, place, until

ORDERFLOW = str(Path(sys.executable).with_name("orderflow"))


async def test_timeline_shows_every_message_of_an_order_in_order(
    http: httpx.AsyncClient, system: System
) -> None:
    sku = await new_product(http, system, stock=3)
    order_id = await place(http, system, order_body((sku, 1)))
    await until(http, system, order_id, lambda o: o["status"] == "COMPLETED")
    result = await asyncio.to_thread(
        subprocess.run, [ORDERFLOW, "timeline", order_id, "--json"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    entries = json.loads(result.stdout)
    sequence = [(e["service"], e["type"]) for e in entries]
    assert sequence[:5] == [
        ("checkout", "OrderPlaced"),
        ("orders", "ReserveStock"),
        ("inventory", "StockReserved"),
        ("orders", "AuthorizePayment"),
        ("payment", "PaymentAuthorized"),
    ]
    assert ("inventory", "StockCommitted") in sequence
    placed = entries[0]
    assert placed["version"] == 4
    assert {h["consumer"] for h in placed["handled_by"]} == {"orders", "history"}
    assert all(e["published_at"] for e in entries)
    unknown = await asyncio.to_thread(
        subprocess.run, [ORDERFLOW, "timeline", "no-such-order"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert unknown.returncode == 1
