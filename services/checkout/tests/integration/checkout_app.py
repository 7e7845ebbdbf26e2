"""The checkout app on a migrated schema with a known catalog copy, driven over ASGI."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from checkout.adapters.repository import CatalogRepository
from checkout.bootstrap import MIGRATIONS
from checkout.domain.model import CatalogItem
from checkout.entrypoints.admission import Admission
from checkout.entrypoints.http import build_router
from orderflow_messaging.clock import FixedClock, SequentialIds
from orderflow_service.http import create_app
from orderflow_testing.plugin import MigratedSchema

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
FIRST_ID = "00000000-0000-0000-0000-000000000001"
CATALOG = [
    CatalogItem("TEE-BLK-M", "Tee", 1990, "EUR"),
    CatalogItem("MUG-ENAMEL", "Mug", 1250, "EUR"),
    CatalogItem("RETIRED-HAT", "Hat", 900, "EUR", active=False),
    CatalogItem("US-ONLY", "Import", 500, "USD"),
]
ADDRESS = {"name": "Ada", "line1": "1 Way", "city": "London", "postcode": "N1", "country": "GB"}
BODY: dict[str, Any] = {
    "customer_id": "c-42",
    "lines": [{"sku": "TEE-BLK-M", "quantity": 2}, {"sku": "MUG-ENAMEL", "quantity": 1}],
    "shipping_address": ADDRESS,
    "payment_token": "tok_visa_4242",
}
TOTAL = 2 * 1990 + 1250


@dataclass
class Checkout:
    engine: AsyncEngine
    client: httpx.AsyncClient

    async def place(
        self, body: dict[str, Any] | None = None, key: str | None = "key-1"
    ) -> httpx.Response:
        headers = {"Idempotency-Key": key} if key is not None else {}
        return await self.client.post(
            "/orders", json=BODY if body is None else body, headers=headers
        )

    async def count(self, table: str) -> int:
        async with self.engine.connect() as conn:
            return int(await conn.scalar(text(f"SELECT count(*) FROM {table}")) or 0)  # noqa: S608

    async def set_price(self, sku: str, price_minor: int) -> None:
        item = next(i for i in CATALOG if i.sku == sku)
        async with self.engine.begin() as conn:
            repriced = CatalogItem(sku, item.name, price_minor, item.currency)
            await CatalogRepository(conn).upsert(repriced, datetime.now(UTC))


@asynccontextmanager
async def open_checkout(
    migrated_schema: MigratedSchema, admission: Callable[[AsyncEngine], Admission] | None = None
) -> AsyncIterator[Checkout]:
    db = await migrated_schema(MIGRATIONS)
    async with db.engine.begin() as conn:
        for item in CATALOG:
            await CatalogRepository(conn).upsert(item, NOW)
    door = admission(db.engine) if admission else None
    router = build_router(db.engine, FixedClock(NOW), SequentialIds(), admission=door)
    app = create_app("checkout", routers=[router])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://checkout") as client:
        yield Checkout(db.engine, client)
