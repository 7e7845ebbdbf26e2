"""Talking to the topics directly, as an upstream system or an operator would."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord

from orderflow_messaging.envelope import header_value
from orderflow_messaging.kafka import client_options


def envelope(type_: str, version: int, payload: Any, correlation_id: str) -> bytes:
    return json.dumps(
        {
            "message_id": str(uuid.uuid4()),
            "type": type_,
            "version": version,
            "occurred_at": datetime.now(UTC).isoformat(),
            "producer": "upstream-test",
            "correlation_id": correlation_id,
            "payload": payload,
        }
    ).encode()


async def produce(bootstrap: str, topic: str, records: list[tuple[str, bytes]]) -> None:
    producer = AIOKafkaProducer(**client_options(bootstrap), acks="all", enable_idempotence=True)
    await producer.start()
    try:
        for key, value in records:
            await producer.send_and_wait(topic, value=value, key=key.encode())
    finally:
        await producer.stop()


async def find(
    bootstrap: str, topic: str, key: str, *, count: int = 1, timeout: float = 30.0
) -> list[ConsumerRecord[bytes, bytes]]:
    """The first ``count`` records with ``key`` on ``topic`` (read from the beginning)."""
    consumer = AIOKafkaConsumer(
        topic, **client_options(bootstrap), auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    found: list[ConsumerRecord[bytes, bytes]] = []
    deadline = time.monotonic() + timeout
    try:
        while len(found) < count and time.monotonic() < deadline:
            for batch in (await consumer.getmany(timeout_ms=200)).values():
                found.extend(r for r in batch if r.key == key.encode())
    finally:
        await consumer.stop()
    return found[:count]


def payload_of(record: ConsumerRecord[bytes, bytes]) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(record.value or b"")
    return data


def reason_of(record: ConsumerRecord[bytes, bytes]) -> str:
    return (header_value(record.headers, "dlq.reason") or b"").decode()
