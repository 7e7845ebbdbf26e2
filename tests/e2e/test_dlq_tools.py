"""`orderflow dlq` against the running services: dead letters made by real failures are
listed and shown; a redrive is refused without the credential, does nothing as a dry
run, has its effect once, and a second redrive is only counted as a duplicate."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from aiokafka import AIOKafkaProducer, ConsumerRecord

from orderflow_messaging.kafka import client_options

from .conftest import System
from .kafka_io import envelope, find

ORDERFLOW = str(Path(sys.executable).with_name("orderflow"))
TOKEN = f"e2e-admin-{uuid.uuid4().hex}"


async def cli(*args: str, token: str | None = TOKEN) -> tuple[int, str, str]:
    """The real command line, with this test's admin credential as the expected one."""
    env = {k: v for k, v in os.environ.items() if k != "ORDERFLOW_ADMIN_TOKEN"}
    env |= {"ORDERFLOW_ADMIN_TOKEN_EXPECTED": TOKEN, "COLUMNS": "250"}
    if token is not None:
        env["ORDERFLOW_ADMIN_TOKEN"] = token
    proc = await asyncio.create_subprocess_exec(
        ORDERFLOW, *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def cli_json(*args: str) -> Any:
    code, out, err = await cli(*args, "--json")
    assert code == 0, err
    return json.loads(out)


async def produce(
    system: System,
    topic: str,
    key: str,
    value: bytes,
    headers: list[tuple[str, bytes]] | None = None,
) -> tuple[int, int]:
    producer = AIOKafkaProducer(
        **client_options(system.settings["KAFKA_BOOTSTRAP_SERVERS"]), acks="all"
    )
    await producer.start()
    try:
        sent = await producer.send_and_wait(topic, value, key.encode(), headers=headers or [])
    finally:
        await producer.stop()
    return sent.partition, sent.offset


async def dead_letters(topic: str, key: str, count: int = 1) -> list[dict[str, Any]]:
    """The dead letters of ``topic`` with ``key``, as `dlq list --json` shows them."""
    deadline = time.monotonic() + 30
    while True:
        found = [r for r in await cli_json("dlq", "list", "--topic", topic) if r["key"] == key]
        if len(found) >= count or time.monotonic() > deadline:
            assert len(found) == count, found
            return found
        await asyncio.sleep(0.5)


async def on_topic(system: System, topic: str, key: str) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record with ``key`` on ``topic`` now (reads for a few seconds)."""
    bootstrap = system.settings["KAFKA_BOOTSTRAP_SERVERS"]
    return await find(bootstrap, topic, key, count=100, timeout=4)


async def inbox(system: System, schema: str, consumer: str, message_id: str) -> tuple[str, int]:
    conn = await asyncpg.connect(system.settings["DATABASE_URL"])
    try:
        row = await conn.fetchrow(
            f"SELECT status, duplicates FROM {schema}.inbox "  # noqa: S608 - fixed names
            "WHERE consumer = $1 AND message_id = $2",
            consumer,
            uuid.UUID(message_id),
        )
    finally:
        await conn.close()
    assert row is not None, f"{consumer} never saw {message_id}"
    return str(row["status"]), int(row["duplicates"])


async def audited(coordinates: str, since: datetime) -> list[tuple[str, bool, int]]:
    """(outcome, dry run, count) of the redrives of one record since ``since``, oldest
    first (coordinates repeat if the broker's data is ever wiped; the audit stays)."""
    entries = await cli_json("audit", "--limit", "500")
    return [
        (e["outcome"], e["dry_run"], e["scope"]["count"])
        for e in reversed(entries)
        if e["action"] == "dlq.redrive"
        and e["scope"]["selectors"]["one"] == coordinates
        and datetime.fromisoformat(e["at"]) >= since
    ]


async def unknown_payment(system: System, **headers: bytes) -> tuple[dict[str, Any], str, bytes]:
    """A PaymentAuthorized for an order nobody placed: the orders saga raises
    PermanentFailure, so it lands on payment.events.dlq. Returns (dead letter, message id,
    the original value)."""
    order_id = str(uuid.uuid4())
    payload = {"order_id": order_id, "authorization_id": "auth-e2e", "amount_minor": 990,
               "currency": "EUR"}  # fmt: skip
    value = envelope("PaymentAuthorized", 1, payload, order_id)
    partition, offset = await produce(
        system, "payment.events", order_id, value, list(headers.items())
    )
    (dead,) = await dead_letters("payment.events", order_id)
    assert (dead["source_partition"], dead["source_offset"]) == (partition, offset)
    return dead, json.loads(value)["message_id"], value


async def test_a_permanent_failure_is_listed_with_its_source_and_shown_in_full(
    system: System,
) -> None:
    dead, message_id, value = await unknown_payment(system, trace=b"\xff\x00not-utf8")
    assert dead["dlq_topic"] == "payment.events.dlq"
    assert dead["source_topic"] == "payment.events"
    assert dead["reason"] == "PERMANENT_FAILURE"
    assert dead["consumer"] == "orders"
    assert dead["attempts"] == 1
    assert "unknown order" in dead["error"]
    assert 0 <= dead["age_s"] < 60
    assert await inbox(system, "orders", "orders", message_id) == ("dead_lettered", 0)

    key = dead["key"]
    for filters in (["--reason", "RETRIES_EXHAUSTED"], ["--older-than", "3600"]):
        found = await cli_json("dlq", "list", "--topic", "payment.events.dlq", *filters)
        assert key not in [r["key"] for r in found], filters
    found = await cli_json(
        "dlq", "list", "--topic", "payment.events", "--reason", "permanent_failure"
    )
    assert dead["coordinates"] in [r["coordinates"] for r in found]
    code, table, _ = await cli("dlq", "list", "--topic", "payment.events")
    assert code == 0
    assert dead["coordinates"] in table
    assert "counts" in table

    coordinates = [dead["dlq_topic"], str(dead["partition"]), str(dead["offset"])]
    shown = await cli_json("dlq", "show", *coordinates)
    headers = {h["name"]: h for h in shown["headers"]}
    assert headers["dlq.reason"]["value"] == "PERMANENT_FAILURE"
    assert headers["dlq.source.topic"]["value"] == "payment.events"
    assert headers["dlq.source.offset"]["value"] == str(dead["source_offset"])
    assert headers["dlq.exception"]["value"] == "PermanentFailure"
    assert headers["trace"] == {
        "name": "trace",
        "value": base64.b64encode(b"\xff\x00not-utf8").decode(),
        "encoding": "base64",
    }
    assert shown["payload_encoding"] == "json"
    assert shown["payload"] == json.loads(value)
    code, _, err = await cli("dlq", "show", dead["dlq_topic"], str(dead["partition"]), "999999")
    assert code == 1
    assert "no record" in err


async def test_a_redrive_without_the_admin_credential_is_refused_and_audited(
    system: System,
) -> None:
    started = datetime.now(UTC)
    dead, message_id, _ = await unknown_payment(system)
    one = dead["coordinates"]
    code, _, err = await cli("dlq", "redrive", "--one", one, "--apply", token=None)
    assert code == 2
    assert "admin credential" in err
    code, _, err = await cli("dlq", "redrive", "--one", one, "--apply", "--admin-token", "nope",
                             token=None)  # fmt: skip
    assert code == 2
    assert "rejected" in err
    assert await audited(one, started) == [("refused", False, 0), ("refused", False, 0)]
    assert len(await on_topic(system, "payment.events", dead["key"])) == 1
    assert await inbox(system, "orders", "orders", message_id) == ("dead_lettered", 0)


async def test_a_dry_run_redrives_nothing(system: System) -> None:
    started = datetime.now(UTC)
    dead, message_id, _ = await unknown_payment(system)
    one = dead["coordinates"]
    plan = await cli_json("dlq", "redrive", "--one", one)
    assert plan["dry_run"] is True
    assert [r["coordinates"] for r in plan["records"]] == [one]
    wide = await cli_json(
        "dlq", "redrive", "--topic", "payment.events", "--reason", "PERMANENT_FAILURE"
    )
    assert one in [r["coordinates"] for r in wide["records"]]
    assert {r["reason"] for r in wide["records"]} == {"PERMANENT_FAILURE"}
    for partition in {r["partition"] for r in wide["records"]}:
        offsets = [r["offset"] for r in wide["records"] if r["partition"] == partition]
        assert offsets == sorted(offsets)  # the order they were dead-lettered in
    code, _, err = await cli("dlq", "redrive")  # no selector: nothing is assumed
    assert code == 2
    assert "--one" in err
    assert await audited(one, started) == [("ok", True, 1)]
    assert len(await on_topic(system, "payment.events", dead["key"])) == 1
    assert await inbox(system, "orders", "orders", message_id) == ("dead_lettered", 0)


def _event(type_: str, payload: dict[str, Any], key: str, at: datetime) -> bytes:
    data = json.loads(envelope(type_, 1, payload, key))
    return json.dumps(data | {"producer": "catalog", "occurred_at": at.isoformat()}).encode()


async def _price(http: httpx.AsyncClient, system: System, sku: str) -> int | None:
    items = (await http.get(system.url("checkout") + "/catalog")).json()
    return next((int(i["price_minor"]) for i in items if i["sku"] == sku), None)


async def _until_price(http: httpx.AsyncClient, system: System, sku: str, price: int) -> None:
    deadline = time.monotonic() + 30
    while (current := await _price(http, system, sku)) != price:
        assert time.monotonic() < deadline, f"{sku} costs {current}, not {price}"
        await asyncio.sleep(0.3)


async def test_a_redrive_applies_once_and_a_second_one_is_a_counted_duplicate(
    http: httpx.AsyncClient, system: System
) -> None:
    # A price change for a product checkout does not know yet: dead-lettered, and its key
    # (the SKU) parked, so the product's announcement, which was lost and is published
    # again later (with the time it was made, before the change), is parked behind it.
    sku = f"E2E-DLQ-{uuid.uuid4().hex[:10].upper()}"
    started = changed_at = datetime.now(UTC)
    change = {"sku": sku, "price_minor": 1500, "currency": "EUR"}
    price_changed = _event("PriceChanged", change, sku, changed_at)
    change_id = json.loads(price_changed)["message_id"]
    await produce(system, "catalog.events", sku, price_changed)
    product = {"sku": sku, "name": "Late tee", "price_minor": 1000, "currency": "EUR"}
    published = _event("ProductPublished", product, sku, changed_at - timedelta(minutes=1))
    published_id = json.loads(published)["message_id"]
    await produce(system, "catalog.events", sku, published)
    failed, parked = await dead_letters("catalog.events", sku, count=2)
    assert (failed["reason"], failed["consumer"]) == ("PERMANENT_FAILURE", "checkout")
    assert parked["reason"] == "PARKED"
    assert await _price(http, system, sku) is None
    assert await inbox(system, "checkout", "checkout", change_id) == ("dead_lettered", 0)

    # The operator puts the product back first, then the price change.
    result = await cli_json("dlq", "redrive", "--one", parked["coordinates"], "--apply")
    assert (result["dry_run"], result["count"]) == (False, 1)
    await _until_price(http, system, sku, 1000)
    one = failed["coordinates"]
    result = await cli_json("dlq", "redrive", "--one", one, "--apply")
    assert (result["dry_run"], result["count"]) == (False, 1)
    await _until_price(http, system, sku, 1500)
    assert await inbox(system, "checkout", "checkout", change_id) == ("processed", 0)
    assert await inbox(system, "checkout", "checkout", published_id) == ("processed", 0)

    # The same redrive again reaches checkout and is only counted as a duplicate.
    result = await cli_json("dlq", "redrive", "--one", one, "--apply")
    assert (result["dry_run"], result["count"]) == (False, 1)
    state = await _until_duplicates(system, "checkout", "checkout", change_id)
    assert state == ("processed", 1)
    assert await _price(http, system, sku) == 1500
    assert await inbox(system, "checkout", "checkout", published_id) == ("processed", 0)
    assert len(await dead_letters("catalog.events", sku, count=2)) == 2  # none added
    assert await audited(one, started) == [("ok", False, 1), ("ok", False, 1)]

    copies = [r for r in await on_topic(system, "catalog.events", sku) if r.value == price_changed]
    assert len(copies) == 3  # the original and one per redrive, key and value untouched
    for copy in copies[1:]:
        assert dict(copy.headers)["redriven_from"] == one.encode()
        assert not [name for name, _ in copy.headers if name.startswith("dlq.")]


async def _until_duplicates(
    system: System, schema: str, consumer: str, message_id: str
) -> tuple[str, int]:
    deadline = time.monotonic() + 30
    while (state := await inbox(system, schema, consumer, message_id))[1] == 0:
        assert time.monotonic() < deadline, f"{consumer} never saw {message_id} again"
        await asyncio.sleep(0.3)
    return state


async def test_a_redrive_that_fails_again_is_absorbed_and_its_dead_letter_stays(
    system: System,
) -> None:
    # The order is still unknown: the redriven copy fails like the original. Its message
    # id is already dead-lettered, so the copy is counted as a duplicate rather than
    # dead-lettered twice; the first dead letter remains, to be redriven again later.
    dead, message_id, _ = await unknown_payment(system)
    result = await cli_json("dlq", "redrive", "--one", dead["coordinates"], "--apply")
    assert result["count"] == 1
    state = await _until_duplicates(system, "orders", "orders", message_id)
    assert state == ("dead_lettered", 1)
    assert [d["coordinates"] for d in await dead_letters("payment.events", dead["key"])] == [
        dead["coordinates"]
    ]


async def test_a_malformed_record_redriven_is_dead_lettered_again(system: System) -> None:
    key = f"poison-{uuid.uuid4().hex[:12]}"
    await produce(system, "orders.inbound", key, b"{not json")
    (dead,) = await dead_letters("orders.inbound", key)
    assert dead["reason"] == "MALFORMED_JSON"
    result = await cli_json("dlq", "redrive", "--one", dead["coordinates"], "--apply")
    assert result["count"] == 1
    first, again = await dead_letters("orders.inbound", key, count=2)
    assert first["coordinates"] == dead["coordinates"]
    assert again["reason"] == "MALFORMED_JSON"
    assert again["redriven_from"] == dead["coordinates"]
