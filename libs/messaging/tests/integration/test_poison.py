"""Every kind of poison lands in the DLQ with its reason; the partition keeps moving."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest

from orderflow_messaging.envelope import header_value
from orderflow_messaging.errors import ReasonCode

from .conftest import Harness, eventually, produce_raw, read_all, running_consumer, running_relay


def _envelope(type_: str = "Pinged", version: int = 1, payload: object = None) -> dict[str, object]:
    return {
        "message_id": str(uuid.uuid4()),
        "type": type_,
        "version": version,
        "occurred_at": datetime.now(UTC).isoformat(),
        "producer": "upstream",
        "correlation_id": "order-p",
        "payload": payload if payload is not None else {"order_id": "order-p", "n": 1},
    }


def _good(n: int) -> bytes:
    return json.dumps(_envelope(payload={"order_id": "order-p", "n": n})).encode()


POISON: list[tuple[str, bytes, ReasonCode]] = [
    ("malformed json", b'{"message_id": ', ReasonCode.MALFORMED_JSON),
    ("not utf-8", b"\xff\xfe\x00garbage", ReasonCode.INVALID_ENCODING),
    ("not an envelope", json.dumps({"hello": "world"}).encode(), ReasonCode.INVALID_ENVELOPE),
    ("unknown type", json.dumps(_envelope("Exploded")).encode(), ReasonCode.UNKNOWN_TYPE),
    ("unknown version", json.dumps(_envelope(version=99)).encode(), ReasonCode.UNKNOWN_VERSION),
    (
        "wrong field type",
        json.dumps(_envelope(payload={"order_id": "order-p", "n": "seven"})).encode(),
        ReasonCode.SCHEMA_INVALID,
    ),
    (
        "missing field",
        json.dumps(_envelope(payload={"order_id": "order-p"})).encode(),
        ReasonCode.SCHEMA_INVALID,
    ),
    ("oversized", b'{"x": "' + b"a" * 1_100_000 + b'"}', ReasonCode.OVERSIZED),
]


@pytest.mark.parametrize(("label", "value", "reason"), POISON, ids=[p[0] for p in POISON])
async def test_poison_goes_to_dlq_and_next_message_flows(
    harness: Harness, kafka_bootstrap: str, label: str, value: bytes, reason: ReasonCode
) -> None:
    key = b"order-p"
    bad_headers = [("type", b"\xff\xfe"), ("trace", b"\x00\x01")]
    await produce_raw(
        kafka_bootstrap,
        harness.topic,
        [(key, _good(1), []), (key, value, bad_headers), (key, _good(2), [])],
    )
    async with (
        running_relay(harness),
        running_consumer(harness, harness.consumer(), group_id=f"poison-{reason.value}"),
    ):

        async def both_good_handled() -> bool:
            return [n for _, n in await harness.effects()] == [1, 2]

        await eventually(both_good_handled)
        dead = await read_all(kafka_bootstrap, f"{harness.topic}.dlq", expect=1)

    assert len(dead) == 1, label
    record = dead[0]
    assert header_value(record.headers, "dlq.reason") == reason.value.encode()
    assert header_value(record.headers, "dlq.source.topic") == harness.topic.encode()
    assert header_value(record.headers, "dlq.source.offset") == b"1"
    assert header_value(record.headers, "dlq.source.partition") is not None
    assert header_value(record.headers, "dlq.attempts") == b"0"
    assert (header_value(record.headers, "dlq.error") or b"") != b""
    assert header_value(record.headers, "trace") == b"\x00\x01"
    assert record.value == value
    assert record.key == key
    status = await harness.scalar('SELECT status FROM inbox WHERE "offset" = 1')
    assert status == "dead_lettered"


async def test_handler_that_keeps_failing_is_dead_lettered_after_max_attempts(
    harness: Harness, kafka_bootstrap: str
) -> None:
    harness.fail_times[5] = 1000
    await harness.put("order-5", 5)
    await harness.put("order-6", 6)  # another key keeps flowing (same key: test_parking)
    async with (
        running_relay(harness),
        running_consumer(harness, harness.consumer(), group_id="exhausted"),
    ):

        async def next_one_handled() -> bool:
            return await harness.effects() == [("order-6", 6)]

        await eventually(next_one_handled)
        dead = await read_all(kafka_bootstrap, f"{harness.topic}.dlq", expect=1)

    assert len(dead) == 1
    assert header_value(dead[0].headers, "dlq.reason") == b"RETRIES_EXHAUSTED"
    assert header_value(dead[0].headers, "dlq.attempts") == b"3"
    assert b"injected failure" in (header_value(dead[0].headers, "dlq.error") or b"")
    assert await harness.scalar("SELECT count(*) FROM delivery_attempts") == 0
