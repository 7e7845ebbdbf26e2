"""`orderflow publish-sample`: what an upstream integrator sends to orders.inbound, valid
and invalid, and what comes back on orders.inbound.replies (or orders.inbound.dlq).

The CLI plays the upstream system here, so it produces to the topic directly.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from orderflow_messaging.kafka import client_options

INBOUND, REPLIES, DLQ = "orders.inbound", "orders.inbound.replies", "orders.inbound.dlq"


@dataclass
class Sample:
    label: str
    reference: str
    value: bytes
    answer: str = "(no answer yet)"


def upstream_envelope(
    version: int, payload: dict[str, Any], reference: str, type_: str = "SubmitOrder"
) -> bytes:
    return json.dumps(
        {
            "message_id": str(uuid.uuid4()),
            "type": type_,
            "version": version,
            "occurred_at": datetime.now(UTC).isoformat(),
            "producer": "sample-upstream",
            "correlation_id": reference,
            "payload": payload,
        }
    ).encode()


def submission_payload(reference: str, version: int, **changes: Any) -> dict[str, Any]:
    line: dict[str, Any] = {"sku": "TEE-BLK-M", "quantity": 2}
    if version == 2:
        line["expected_unit_price"] = {"amount_minor": 1990, "currency": "EUR"}
    payload: dict[str, Any] = {
        "reference": reference,
        "customer_id": "upstream-customer-1",
        "lines": [line],
        "currency": "EUR",
        "shipping_address": {
            "name": "Grace Hopper",
            "line1": "1 Harbour Road",
            "city": "Hamburg",
            "postcode": "20095",
            "country": "DE",
        },
        "payment_token": "tok_ok",
    }
    if version == 2:
        payload["sales_channel"] = "sample-marketplace"
    payload.update(changes)
    return payload


def build_samples() -> list[Sample]:
    run = uuid.uuid4().hex[:6]
    samples: list[Sample] = []

    def add(label: str, version: int, **changes: Any) -> None:
        reference = f"sample-{run}-{len(samples) + 1}"
        value = upstream_envelope(
            version, submission_payload(reference, version, **changes), reference
        )
        samples.append(Sample(label, reference, value))

    add("valid SubmitOrder v1", 1)
    add("valid SubmitOrder v2", 2)
    add("unknown SKU", 2, lines=[{"sku": "NO-SUCH-SKU", "quantity": 1}])
    add("quantity 0", 2, lines=[{"sku": "TEE-BLK-M", "quantity": 0}])
    bad_price = {"amount_minor": 99, "currency": "EUR"}
    add("price differs from the catalog", 2,
        lines=[{"sku": "TEE-BLK-M", "quantity": 1, "expected_unit_price": bad_price}])  # fmt: skip
    add("unsupported version v99", 99)
    samples.append(Sample("not JSON", f"sample-{run}-garbage", b"<order>oops</order>"))
    return samples


async def publish_samples(bootstrap: str, timeout_s: float = 30.0) -> list[Sample]:
    samples = build_samples()
    producer = AIOKafkaProducer(**client_options(bootstrap), acks="all", enable_idempotence=True)
    await producer.start()
    try:
        for sample in samples:
            await producer.send_and_wait(INBOUND, sample.value, key=sample.reference.encode())
    finally:
        await producer.stop()
    await _collect(bootstrap, samples, timeout_s)
    return samples


async def _collect(bootstrap: str, samples: list[Sample], timeout_s: float) -> None:
    by_key = {s.reference.encode(): s for s in samples}
    consumer = AIOKafkaConsumer(
        REPLIES, DLQ, **client_options(bootstrap), auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    pending = set(by_key)
    deadline = time.monotonic() + timeout_s
    try:
        while pending and time.monotonic() < deadline:
            for batch in (await consumer.getmany(timeout_ms=300)).values():
                for record in batch:
                    if record.key in pending:
                        by_key[record.key].answer = _describe(record.topic, record)
                        pending.discard(record.key)
            await asyncio.sleep(0)
    finally:
        await consumer.stop()


def _describe(topic: str, record: Any) -> str:
    if topic == DLQ:
        headers = dict(record.headers)
        return f"dead-lettered: {headers.get('dlq.reason', b'').decode()}"
    reply = json.loads(record.value)
    if reply["type"] == "OrderSubmissionAccepted":
        return f"accepted: order {reply['payload']['order_id']}"
    reasons = "; ".join(f"{r['field']}: {r['reason']}" for r in reply["payload"]["reasons"])
    return f"rejected: {reasons}"
