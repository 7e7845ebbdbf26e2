"""The saga console routes through the real app on a migrated schema: dry runs change
nothing, applied actions change the row, the outbox and the timeline together, and
only the admin bearer token opens the actions."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from orderflow_contracts.checkout import OrderPlaced
from orderflow_contracts.common import Address, Money, PricedLineV4
from orderflow_messaging.clock import FixedClock
from orderflow_messaging.consumer import Batch, Incoming
from orderflow_messaging.registry import Message
from orderflow_service.http import create_app
from orderflow_testing.batches import run_batch
from orderflow_testing.plugin import MigratedSchema
from orders.adapters.repository import SagaRepository
from orders.adapters.saga_store import PgSagaStore
from orders.application.saga_batch import handle_saga_messages
from orders.bootstrap import MIGRATIONS
from orders.entrypoints.admin_http import build_admin_router
from orders.entrypoints.http import build_router
from orders.saga.policy import SagaPolicy
from orders.saga.state import Saga, SagaStatus, Step

T0 = datetime(2026, 6, 1, 9, tzinfo=UTC)
POLICY = SagaPolicy(step_timeout=timedelta(seconds=5), step_retries=1, compensation_retries=1)
TOKEN = "s3cret-admin-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@dataclass
class Console:
    engine: AsyncEngine
    client: httpx.AsyncClient
    clock: FixedClock

    async def place(self, order_id: str) -> None:
        async def handler(batch: Batch, items: Sequence[Incoming[Message]]) -> None:
            await handle_saga_messages(PgSagaStore(batch.conn), batch, items, POLICY)

        await run_batch(self.engine, handler, [placed(order_id)], clock=self.clock)

    async def saga(self, order_id: str) -> Saga:
        async with self.engine.connect() as conn:
            saga = await SagaRepository(conn).get(order_id)
        assert saga is not None
        return saga

    async def force(self, order_id: str, **changes: Any) -> None:
        """Put a saga into a state the test needs, bypassing the transitions."""
        async with self.engine.begin() as conn:
            repo = SagaRepository(conn)
            saga = await repo.get(order_id)
            assert saga is not None
            await repo.update(saga.evolve(**changes), saga.version)

    async def snapshot(self, order_id: str) -> tuple[Any, ...]:
        """Everything an action may change: the row, the timeline, the outbox."""
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(text("SELECT * FROM sagas WHERE order_id = :o"), {"o": order_id})
            ).one()
            history = (await conn.execute(text("SELECT * FROM saga_history ORDER BY id"))).all()
            outbox = (await conn.execute(text("SELECT id, message_type FROM outbox"))).all()
        return tuple(row), [tuple(h) for h in history], [tuple(o) for o in outbox]

    async def outbox_types(self) -> list[str]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(text("SELECT message_type FROM outbox ORDER BY id"))
            return [r.message_type for r in rows]

    async def history(self, order_id: str) -> list[Any]:
        async with self.engine.connect() as conn:
            return await SagaRepository(conn).history(order_id)


def placed(order_id: str) -> OrderPlaced:
    return OrderPlaced(
        order_id=order_id,
        customer_id="c-1",
        lines=[
            PricedLineV4(
                sku="TEE-BLK-M",
                quantity=1,
                unit_price=Money(amount_minor=1990, currency="EUR"),
                price_source="base",
            )
        ],
        total=Money(amount_minor=1990, currency="EUR"),
        shipping_address=Address(name="A", line1="1 St", city="X", postcode="10115", country="DE"),
        payment_token="tok_ok",
        placed_at=T0,
    )


def app(engine: AsyncEngine, clock: FixedClock, token: str) -> httpx.AsyncClient:
    routers = [
        build_router(engine, clock, POLICY, "orders"),
        build_admin_router(engine, clock, POLICY, "orders", token),
    ]
    transport = httpx.ASGITransport(app=create_app("orders", routers=routers))
    return httpx.AsyncClient(transport=transport, base_url="http://orders")


@pytest.fixture
async def console(migrated_schema: MigratedSchema) -> AsyncIterator[Console]:
    db = await migrated_schema(MIGRATIONS)
    clock = FixedClock(T0)
    async with app(db.engine, clock, TOKEN) as client:
        yield Console(db.engine, client, clock)


async def test_dry_run_shows_the_outcome_and_changes_nothing(console: Console) -> None:
    await console.place("o-1")
    before = await console.snapshot("o-1")
    console.clock.now = T0 + timedelta(seconds=2)

    response = await console.client.post("/admin/sagas/o-1/retry", headers=AUTH)

    assert response.status_code == 200
    body = response.json()
    assert body["dry_run"] is True
    assert (body["from_status"], body["status"], body["step"]) == (
        "RUNNING", "RUNNING", "RESERVE_STOCK",
    )  # fmt: skip
    assert body["attempt"] == 2
    assert body["commands"] == [{"topic": "inventory.commands", "type": "ReserveStock"}]
    assert body["note"].startswith("operator retry")
    assert await console.snapshot("o-1") == before

    compensate = await console.client.post(
        "/admin/sagas/o-1/compensate", json={"reason": "stuck"}, headers=AUTH
    )
    assert compensate.status_code == 200
    assert (compensate.json()["status"], compensate.json()["step"]) == (
        "COMPENSATING", "RELEASE_STOCK",
    )  # fmt: skip
    assert await console.snapshot("o-1") == before


async def test_applied_retry_resends_and_records_the_timeline(console: Console) -> None:
    await console.place("o-1")
    console.clock.now = T0 + timedelta(seconds=2)

    response = await console.client.post(
        "/admin/sagas/o-1/retry", params={"dry_run": "false"}, headers=AUTH
    )

    assert response.status_code == 200
    assert response.json()["dry_run"] is False
    saga = await console.saga("o-1")
    assert (saga.status, saga.step, saga.attempt, saga.version) == (
        SagaStatus.RUNNING, Step.RESERVE_STOCK, 2, 2,
    )  # fmt: skip
    assert saga.deadline == console.clock.now + POLICY.step_timeout
    assert await console.outbox_types() == ["ReserveStock", "ReserveStock"]
    last = (await console.history("o-1"))[-1]
    assert (last.kind, last.from_status, last.to_status) == ("admin", "RUNNING", "RUNNING")
    assert last.commands == ["ReserveStock"]
    assert last.note == "operator retry: RESERVE_STOCK resent (attempt 2)"


async def test_applied_compensate_undoes_the_in_flight_step(console: Console) -> None:
    await console.place("o-1")
    response = await console.client.post(
        "/admin/sagas/o-1/compensate?dry_run=false", json={"reason": "stuck"}, headers=AUTH
    )
    assert response.status_code == 200
    saga = await console.saga("o-1")
    assert (saga.status, saga.step, saga.reason) == (
        SagaStatus.COMPENSATING, Step.RELEASE_STOCK, "stuck",
    )  # fmt: skip
    assert await console.outbox_types() == ["ReserveStock", "ReleaseStock"]
    assert (await console.history("o-1"))[-1].note == "operator compensate: stuck"


async def test_resolve_only_from_compensation_failed(console: Console) -> None:
    await console.place("o-1")
    refused = await console.client.post(
        "/admin/sagas/o-1/resolve?dry_run=false", json={"note": "done"}, headers=AUTH
    )
    assert refused.status_code == 409
    assert "compensation failed" in refused.json()["detail"]
    assert (await console.saga("o-1")).status is SagaStatus.RUNNING

    await console.force(
        "o-1", status=SagaStatus.COMPENSATION_FAILED, step=Step.RELEASE_STOCK, deadline=None
    )
    outbox_before = await console.outbox_types()
    response = await console.client.post(
        "/admin/sagas/o-1/resolve?dry_run=false", json={"note": "released by hand"}, headers=AUTH
    )
    assert response.status_code == 200
    saga = await console.saga("o-1")
    assert (saga.status, saga.step, saga.reason) == (
        SagaStatus.RESOLVED, None, "released by hand",
    )  # fmt: skip
    assert await console.outbox_types() == outbox_before  # nothing sent
    last = (await console.history("o-1"))[-1]
    assert (last.kind, last.from_status, last.to_status) == (
        "admin", "COMPENSATION_FAILED", "RESOLVED",
    )  # fmt: skip

    again = await console.client.post(
        "/admin/sagas/o-1/resolve", json={"note": "twice"}, headers=AUTH
    )
    assert again.status_code == 409


async def test_refusal_is_409_with_the_reason(console: Console) -> None:
    await console.place("o-1")
    await console.force("o-1", status=SagaStatus.CANCELLED, step=None, deadline=None)
    before = await console.snapshot("o-1")
    for path, body in [("retry", None), ("compensate", {"reason": "x"})]:
        response = await console.client.post(
            f"/admin/sagas/o-1/{path}?dry_run=false", json=body, headers=AUTH
        )
        assert response.status_code == 409
        assert "cancelled" in response.json()["detail"]
    assert await console.snapshot("o-1") == before


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}],
    ids=["missing", "wrong", "not-bearer"],
)
async def test_actions_need_the_admin_token(console: Console, headers: dict[str, str]) -> None:
    await console.place("o-1")
    before = await console.snapshot("o-1")
    for path, body in [
        ("retry", None),
        ("compensate", {"reason": "x"}),
        ("resolve", {"note": "x"}),
    ]:
        response = await console.client.post(
            f"/admin/sagas/o-1/{path}?dry_run=false", json=body, headers=headers
        )
        assert response.status_code == 401, path
        assert response.headers["www-authenticate"] == "Bearer"
    assert await console.snapshot("o-1") == before


async def test_actions_are_off_without_a_configured_token(console: Console) -> None:
    await console.place("o-1")
    async with app(console.engine, console.clock, "") as client:
        response = await client.post("/admin/sagas/o-1/retry", headers={"Authorization": "Bearer "})
        assert response.status_code == 503
        assert (await client.get("/admin/sagas")).status_code == 200


async def test_unknown_order_is_404_and_bad_body_422(console: Console) -> None:
    response = await console.client.post("/admin/sagas/nope/retry", headers=AUTH)
    assert response.status_code == 404
    await console.place("o-1")
    missing = await console.client.post("/admin/sagas/o-1/compensate", json={}, headers=AUTH)
    assert missing.status_code == 422


async def test_listing_shows_idle_unfinished_sagas_without_a_token(console: Console) -> None:
    for order_id in ("o-idle", "o-fresh", "o-done", "o-failed"):
        await console.place(order_id)
    await console.force("o-done", status=SagaStatus.COMPLETED, step=None, deadline=None)
    await console.force("o-failed", status=SagaStatus.COMPENSATION_FAILED, deadline=None)
    async with console.engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE sagas SET updated_at = now() - interval '1 hour' "
                "WHERE order_id IN ('o-idle', 'o-done', 'o-failed')"
            )
        )

    async def listed(**params: Any) -> list[str]:
        response = await console.client.get("/admin/sagas", params=params)
        assert response.status_code == 200
        return [row["order_id"] for row in response.json()]

    assert sorted(await listed()) == ["o-fresh", "o-idle"]
    assert await listed(older_than_s=600) == ["o-idle"]
    assert await listed(status="COMPENSATION_FAILED", older_than_s=600) == ["o-failed"]
    assert len(await listed(limit=1)) == 1
    row = (await console.client.get("/admin/sagas", params={"older_than_s": 600})).json()[0]
    assert row["status"] == "RUNNING"
    assert row["step"] == "RESERVE_STOCK"
    assert 3500 < row["idle_s"] < 3700
    bad = await console.client.get("/admin/sagas", params={"status": "NOPE"})
    assert bad.status_code == 422
