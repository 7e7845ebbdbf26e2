"""Stock over HTTP on the real PostgreSQL: a stock count is announced with the change;
a SKU no contract can name is refused."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import text

from inventory.bootstrap import MIGRATIONS
from inventory.entrypoints.http import build_router
from orderflow_messaging.clock import FixedClock
from orderflow_service.http import create_app
from orderflow_testing.plugin import MigratedSchema

pytestmark = pytest.mark.integration

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


async def test_a_stock_count_is_announced_and_a_bad_sku_refused(
    migrated_schema: MigratedSchema,
) -> None:
    db = await migrated_schema(MIGRATIONS)
    app = create_app("inventory", routers=[build_router(db.engine, FixedClock(NOW))])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://inventory") as client:
        for available in (4, 6):
            counted = await client.put("/stock/MUG-BLUE", json={"available": available})
            assert counted.status_code == 200, counted.text
        assert counted.json() == {
            "sku": "MUG-BLUE", "initial": 6, "available": 6, "reserved": 0, "committed": 0
        }  # fmt: skip
        refused = await client.put("/stock/mug blue", json={"available": 1})
        assert refused.status_code == 422
        assert refused.json()["detail"][0]["loc"] == ["path", "sku"]
        assert (await client.get("/stock/mug blue")).status_code == 404
    async with db.engine.connect() as conn:
        rows = await conn.execute(text("SELECT topic, key, value FROM outbox ORDER BY id"))
        levels = [(r.topic, r.key, json.loads(r.value)["payload"]) for r in rows]
    assert levels == [
        ("inventory.stock", b"MUG-BLUE", {"sku": "MUG-BLUE", "available": 4, "revision": 1}),
        ("inventory.stock", b"MUG-BLUE", {"sku": "MUG-BLUE", "available": 6, "revision": 2}),
    ]
