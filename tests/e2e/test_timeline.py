"""`orderflow timeline`: one order's messages across every service, in order."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from orderflow_contracts.catalogue import CATALOGUE
from orderflow_contracts.topics import CHECKOUT_EVENTS

from .conftest import System, new_product, order_body, place, until

ORDERFLOW = str(Path(sys.executable).with_name("orderflow"))


async def _timeline(order_id: str) -> list[dict[str, Any]]:
    result = await asyncio.to_thread(
        subprocess.run, [ORDERFLOW, "timeline", order_id, "--json"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    entries: list[dict[str, Any]] = json.loads(result.stdout)
    return entries


async def test_timeline_shows_every_message_of_an_order_in_order(
    http: httpx.AsyncClient, system: System
) -> None:
    sku = await new_product(http, system, stock=3)
    order_id = await place(http, system, order_body((sku, 1)))
    await until(http, system, order_id, lambda o: o["status"] == "COMPLETED")
    # Every consumer of checkout.events handles OrderPlaced; the catalog's projection
    # lingers, so it may come a moment after the saga has ended.
    consumers = next(c.consumers for c in CATALOGUE if c.topic == CHECKOUT_EVENTS)
    deadline = time.monotonic() + 15
    while True:
        entries = await _timeline(order_id)
        handled = {h["consumer"] for h in entries[0]["handled_by"]}
        if handled == set(consumers) or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
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
    assert {h["consumer"] for h in placed["handled_by"]} == {"orders", "history", "catalog"}
    assert all(e["published"] for e in entries)
    unknown = await asyncio.to_thread(
        subprocess.run, [ORDERFLOW, "timeline", "no-such-order"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert unknown.returncode == 1
