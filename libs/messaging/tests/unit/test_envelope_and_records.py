"""Envelope headers, outbox slots, dead-letter records, crash points."""

from __future__ import annotations

import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta, timezone

from orderflow_messaging.crash import CRASH_EXIT_CODE
from orderflow_messaging.dead_letter import dead_letter_record
from orderflow_messaging.envelope import Envelope, SourceCoordinates, header_value
from orderflow_messaging.errors import ReasonCode
from orderflow_messaging.header_codec import pack_headers, unpack_headers
from orderflow_messaging.outbox import slot_for
from orderflow_messaging.tables import OUTBOX_SLOTS


def envelope(**overrides: object) -> Envelope:
    fields: dict[str, object] = {
        "message_id": uuid.UUID(int=1),
        "type": "OrderPlaced",
        "version": 2,
        "occurred_at": datetime(2026, 1, 1, 12, tzinfo=timezone(timedelta(hours=2))),
        "producer": "checkout",
        "correlation_id": "ord-1",
        "causation_id": uuid.UUID(int=9),
        "payload": {"a": 1},
    }
    fields.update(overrides)
    return Envelope.model_validate(fields)


def test_envelope_headers_carry_routing_fields() -> None:
    headers = envelope().kafka_headers()
    assert header_value(headers, "type") == b"OrderPlaced"
    assert header_value(headers, "version") == b"2"
    assert header_value(headers, "correlation_id") == b"ord-1"
    assert header_value(headers, "message_id") == str(uuid.UUID(int=1)).encode()
    assert header_value(headers, "causation_id") == str(uuid.UUID(int=9)).encode()


def test_occurred_at_is_normalised_to_utc_and_round_trips() -> None:
    env = envelope()
    assert env.occurred_at == datetime(2026, 1, 1, 10, tzinfo=UTC)
    assert Envelope.model_validate_json(env.to_bytes()) == env


def test_record_value_is_the_json_pydantic_writes() -> None:
    """``to_bytes`` writes with orjson: the same text as pydantic's, byte for byte, for
    every shape a payload takes (and pydantic's own text where orjson refuses)."""
    cases = [
        envelope(),
        envelope(causation_id=None, occurred_at=datetime(2026, 1, 1, 12, 0, 0, 5, tzinfo=UTC)),
        envelope(message_id=uuid.uuid4(), correlation_id="Bestellung-ü-€-😀"),
        envelope(payload={"lines": [{"sku": "A", "q": 2}], "note": None, "ok": True,
                          "ratio": 0.1, "text": 'quote " and \\ and \n', "empty": {}}),
        envelope(payload={"big": 2**70, "negative": -(2**64)}),  # beyond orjson's integers
    ]  # fmt: skip
    for case in cases:
        assert case.to_bytes() == case.model_dump_json().encode()
        assert Envelope.model_validate_json(case.to_bytes()) == case


def test_slot_is_stable_and_in_range() -> None:
    assert slot_for(b"ord-1") == slot_for(b"ord-1")
    assert {slot_for(f"k{i}".encode()) for i in range(500)} == set(range(OUTBOX_SLOTS))
    assert 0 <= slot_for(None) < OUTBOX_SLOTS


def test_binary_headers_survive_outbox_storage() -> None:
    headers = [("a", b"\xff\x00"), ("b", b"")]
    assert unpack_headers(pack_headers(headers)) == headers


def test_dead_letter_record_keeps_original_and_says_why() -> None:
    record = dead_letter_record(
        source=SourceCoordinates("orders.inbound", 2, 41),
        key=b"k",
        value=b"\xffraw",
        headers=[("trace", b"t"), ("dlq.reason", b"old")],
        reason=ReasonCode.MALFORMED_JSON,
        error="x" * 5000,
        exception="PoisonMessage",
        consumer="checkout",
        attempts=0,
        failed_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    assert record.topic == "orders.inbound.dlq"
    assert (record.key, record.value) == (b"k", b"\xffraw")
    assert header_value(record.headers, "trace") == b"t"
    assert header_value(record.headers, "dlq.reason") == b"MALFORMED_JSON"
    assert header_value(record.headers, "dlq.source.partition") == b"2"
    assert header_value(record.headers, "dlq.source.offset") == b"41"
    assert len(header_value(record.headers, "dlq.error") or b"") == 1000


def test_crashpoint_exits_only_when_armed() -> None:
    code = "from orderflow_messaging.crash import crashpoint; crashpoint('a.b'); print('alive')"
    env_off = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert env_off.returncode == 0
    assert "alive" in env_off.stdout
    env_on = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={"ORDERFLOW_CRASH_POINTS": "x.y, a.b", "PATH": ""},
    )
    assert env_on.returncode == CRASH_EXIT_CODE
    assert "alive" not in env_on.stdout
