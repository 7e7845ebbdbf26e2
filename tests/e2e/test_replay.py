"""`orderflow replay`: the live order history equals its rebuild from the topics, and
re-publishing every payment command to the live payment service charges nobody twice."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import TopicPartition

from orderflow_cli import admin
from orderflow_messaging.kafka import client_options

from .conftest import System, get_json, new_product, order_body, place, until

ORDERFLOW = str(Path(sys.executable).with_name("orderflow"))
TERMINAL = {"COMPLETED": "completed", "CANCELLED": "cancelled", "REJECTED": "rejected"}


@pytest.fixture(scope="module")
async def orders(system: System) -> dict[str, dict[str, Any]]:
    """Finished orders, one per ending, each also in the live history: id -> body placed."""
    async with httpx.AsyncClient(timeout=20.0) as http:
        sku = await new_product(http, system, stock=10, price_minor=1250)
        scarce = await new_product(http, system, stock=1)
        bodies = [
            order_body((sku, 2)),
            order_body((sku, 1), token="tok_decline"),
            order_body((scarce, 2)),
        ]
        ids = [await place(http, system, body) for body in bodies]
        finals = await asyncio.gather(*(until(http, system, o) for o in ids))
        assert [f["status"] for f in finals] == ["COMPLETED", "CANCELLED", "REJECTED"]
        # Tracking too, so that nothing about these orders is still on its way.
        await until(http, system, ids[0], lambda o: o["fulfilment"]["delivered"], 30)
        for order_id, final in zip(ids, finals, strict=True):
            want = (TERMINAL[final["status"]], "delivered" if order_id == ids[0] else "none")
            await _until_history(http, system, order_id, want)
    return {order_id: body for order_id, body in zip(ids, bodies, strict=True)}


async def _until_history(
    http: httpx.AsyncClient, system: System, order_id: str, want: tuple[str, str]
) -> None:
    # The first start of the history service reads every topic from the beginning.
    deadline = time.monotonic() + 180
    while True:
        status, body = await get_json(http, system.url("history") + f"/history/orders/{order_id}")
        if status == 200 and (body["status"], body["fulfilment"]) == want:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"history of {order_id}: {status} {body}, want {want}")
        await asyncio.sleep(0.3)


async def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    run = [ORDERFLOW, *args]
    return await asyncio.to_thread(
        subprocess.run, run, capture_output=True, text=True, timeout=300, env=env
    )


async def test_live_history_shows_each_order(
    system: System, orders: dict[str, dict[str, Any]]
) -> None:
    completed, _, _ = orders
    async with httpx.AsyncClient(timeout=20.0) as http:
        status, one = await get_json(http, system.url("history") + f"/history/orders/{completed}")
        customer = orders[completed]["customer_id"]
        _, mine = await get_json(
            http, system.url("history") + f"/history/customers/{customer}/orders"
        )
    assert status == 200
    assert (one["customer_id"], one["total_minor"], one["currency"]) == (customer, 2500, "EUR")
    assert [(ln["quantity"], ln["unit_price_minor"]) for ln in one["lines"]] == [(2, 1250)]
    # OrderPlaced, OrderConfirmed, OrderCompleted, ShipmentDispatched, ShipmentDelivered
    assert one["events_applied"] == 5
    assert [o["order_id"] for o in mine] == [completed]


async def test_rebuilt_projection_equals_the_live_one(
    system: System, orders: dict[str, dict[str, Any]]
) -> None:
    done = await _cli("replay", "projection", "order-history", "--compare", "--json")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads(done.stdout)
    schema = result["schema"]
    assert schema.startswith("replay_")
    assert result["compare"]["differences"] == 0
    assert result["compare"]["live_caught_up"] is True
    assert result["records"]["applied"] >= 3 * len(orders)
    conn = await asyncpg.connect(system.settings["DATABASE_URL"])
    try:
        query = "SELECT * FROM {}.order_history WHERE order_id = ANY($1::text[]) ORDER BY order_id"
        ids = list(orders)
        live = [dict(r) for r in await conn.fetch(query.format("history"), ids)]
        rebuilt = [dict(r) for r in await conn.fetch(query.format(schema), ids)]
        audited = await conn.fetchval(
            "SELECT count(*) FROM ops.audit WHERE action = 'replay.projection' "
            "AND scope->>'into' = $1",
            schema,
        )
        await conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    finally:
        await conn.close()
    assert len(live) == len(orders)
    assert rebuilt == live
    assert audited == 1


async def test_a_drifted_live_row_is_reported(
    system: System, orders: dict[str, dict[str, Any]]
) -> None:
    completed = next(iter(orders))
    conn = await asyncpg.connect(system.settings["DATABASE_URL"])
    drift = "UPDATE history.order_history SET fulfilment = $2 WHERE order_id = $1"
    try:
        await conn.execute(drift, completed, "dispatched")  # as if a delivery had been lost
        try:
            done = await _cli("replay", "projection", "order-history", "--compare", "--json")
        finally:
            await conn.execute(drift, completed, "delivered")
        result = json.loads(done.stdout)
        await conn.execute(f'DROP SCHEMA "{result["schema"]}" CASCADE')
    finally:
        await conn.close()
    assert done.returncode == 1, done.stderr[-3000:]
    found = result["compare"]
    assert found["differing"] == {
        completed: {"fulfilment": {"live": "dispatched", "rebuilt": "delivered"}}
    }
    assert (found["missing"], found["extra"], found["differences"]) == ([], [], 1)


async def test_replayed_payment_commands_change_nothing(
    system: System, orders: dict[str, dict[str, Any]]
) -> None:
    ids = list(orders)
    refused = await _cli("replay", "topic", "payment.commands", "--from-offset", "0", "--apply",
                         env=_without_token())  # fmt: skip
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "admin credential" in refused.stderr
    dry = await _cli("replay", "topic", "payment.commands", "--from-offset", "0", "--json")
    assert dry.returncode == 0, dry.stderr
    assert json.loads(dry.stdout)["dry_run"] is True

    conn = await asyncpg.connect(system.settings["DATABASE_URL"])
    try:
        watched = await _settled_orders(conn, ids)
        before = await _effects(conn, watched)
        mine_commands, mine_dups = await _redeliveries(conn, ids)
        assert mine_commands >= 2  # authorize + capture of the completed order, at least
        token = admin.token_file().read_text().strip()
        run = await _cli("replay", "topic", "payment.commands", "--from-offset", "0", "--apply",
                         "--admin-token", token, "--json")  # fmt: skip
        assert run.returncode == 0, run.stdout + run.stderr
        assert json.loads(run.stdout)["messages"] >= mine_commands
        await _until_payment_caught_up(system.settings["KAFKA_BOOTSTRAP_SERVERS"])
        deadline = time.monotonic() + 60
        while (await _redeliveries(conn, ids))[1] < mine_dups + mine_commands:
            assert time.monotonic() < deadline, "payment never saw the replayed commands"
            await asyncio.sleep(0.5)
        # Each of our orders' commands arrived exactly once more, and was absorbed.
        assert await _redeliveries(conn, ids) == (mine_commands, mine_dups + mine_commands)
        assert await _effects(conn, watched) == before
        outcomes = await conn.fetch(
            "SELECT outcome, dry_run FROM ops.audit WHERE action = 'replay.topic' "
            "ORDER BY id DESC LIMIT 3"
        )
    finally:
        await conn.close()
    kinds = [(row["dry_run"], row["outcome"].split()[0]) for row in outcomes]
    assert kinds == [(False, "republished"), (True, "dry"), (False, "refused:")]


def _without_token() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "ORDERFLOW_ADMIN_TOKEN"}


async def _settled_orders(conn: asyncpg.Connection, ours: list[str]) -> list[str]:
    """Ours, and every order finished a while ago: nothing may change for them. Orders
    of concurrent tests are still moving, and are left out."""
    rows = await conn.fetch(
        "SELECT order_id FROM orders.sagas WHERE order_id = ANY($1::text[]) "
        "OR (status IN ('COMPLETED', 'REJECTED', 'CANCELLED') "
        "AND updated_at < now() - interval '30 seconds')",
        ours,
    )
    return [r["order_id"] for r in rows]


async def _effects(conn: asyncpg.Connection, order_ids: list[str]) -> dict[str, tuple[Any, ...]]:
    """Per order: gateway ledger entries (charges, voids, refunds), reservation, shipment."""
    rows = await conn.fetch(
        "SELECT s.order_id, "
        "(SELECT count(*) FROM payment.gateway_ledger l WHERE l.order_id = s.order_id) AS ledger, "
        "(SELECT count(*) FROM inventory.reservations r WHERE r.order_id = s.order_id) AS res, "
        "(SELECT max(r.status) FROM inventory.reservations r WHERE r.order_id = s.order_id) AS rs, "
        "(SELECT count(*) FROM shipping.shipments sh WHERE sh.order_id = s.order_id) AS ships, "
        "(SELECT max(sh.status) FROM shipping.shipments sh WHERE sh.order_id = s.order_id) AS ss "
        "FROM orders.sagas s WHERE s.order_id = ANY($1::text[])",
        order_ids,
    )
    return {r["order_id"]: tuple(r.values())[1:] for r in rows}


async def _redeliveries(conn: asyncpg.Connection, order_ids: list[str]) -> tuple[int, int]:
    """(payment commands of these orders in payment's inbox, their duplicates absorbed)."""
    row = await conn.fetchrow(
        "SELECT count(*) AS n, coalesce(sum(i.duplicates), 0) AS dups FROM payment.inbox i "
        "JOIN orders.outbox o ON o.message_id = i.message_id "
        "WHERE o.topic = 'payment.commands' AND o.correlation_id = ANY($1::text[])",
        order_ids,
    )
    return int(row["n"]), int(row["dups"])


async def _until_payment_caught_up(bootstrap: str) -> None:
    """Until the payment group has committed the end of payment.commands."""
    consumer = AIOKafkaConsumer(**client_options(bootstrap), group_id=None)
    client = AIOKafkaAdminClient(**client_options(bootstrap))
    await consumer.start()
    await client.start()
    try:
        (described,) = await client.describe_topics(["payment.commands"])
        parts = [
            TopicPartition("payment.commands", p["partition"]) for p in described["partitions"]
        ]
        ends = await consumer.end_offsets(parts)
        deadline = time.monotonic() + 120
        while True:
            done = await client.list_consumer_group_offsets("payment")
            if all(tp in done and done[tp].offset >= ends[tp] for tp in parts if ends[tp]):
                return
            assert time.monotonic() < deadline, f"payment behind: {done} < {ends}"
            await asyncio.sleep(0.5)
    finally:
        await consumer.stop()
        await client.close()
