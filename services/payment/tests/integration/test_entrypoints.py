"""The Kafka consumer and HTTP routes wired to the use cases."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from orderflow_messaging.settings import ConsumerSettings
from payment.entrypoints.http import build_router
from payment.entrypoints.messages import build_consumer

from .conftest import Harness, authorize, capture, key_of, record


async def test_consumer_retries_a_flaky_gateway_and_ignores_redelivery(
    batch_harness: Harness,
) -> None:
    harness = batch_harness
    settings = ConsumerSettings(backoff_initial_s=0.01, backoff_max_s=0.02)
    consumer = build_consumer(harness.db.engine, settings, harness.clock, harness.gateway)
    flaky = record(authorize("o1", "tok_flaky"), "o1", 0)
    await consumer.process([flaky])
    await consumer.process([flaky])  # redelivered: the inbox absorbs it
    assert await harness.reply_types("o1") == ["PaymentAuthorized"]
    assert len(await harness.ledger("o1")) == 1
    assert await harness.key_state(key_of("o1", "authorize")) == "done"


async def test_consumer_handles_a_batch_of_commands_in_order(batch_harness: Harness) -> None:
    harness = batch_harness
    consumer = build_consumer(harness.db.engine, ConsumerSettings(), harness.clock, harness.gateway)
    batch = [record(authorize("o1"), "o1", 0), record(capture("o1"), "o1", 1)]
    await consumer.process(batch)
    assert await harness.reply_types("o1") == ["PaymentAuthorized", "PaymentCaptured"]


async def test_http_shows_payments_and_the_ledger(harness: Harness) -> None:
    await harness.send(authorize("o1"), capture("o1"))
    app = FastAPI()
    app.include_router(build_router(harness.db.engine, harness.gateway))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://payment") as client:
        found = await client.get("/payments/o1")
        missing = await client.get("/payments/nope")
        ledger = await client.get("/ledger", params={"order_id": "o1"})
        other = await client.get("/ledger", params={"order_id": "nope"})
    assert found.status_code == 200
    body = found.json()
    assert (body["status"], body["captured_minor"], body["currency"]) == ("captured", 1000, "EUR")
    assert "token" not in body
    assert missing.status_code == 404
    assert [(row["kind"], row["result"]) for row in ledger.json()] == [
        ("authorize", "approved"),
        ("capture", "approved"),
    ]
    assert other.json() == []
