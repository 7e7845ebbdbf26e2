"""A dead letter outgrows the record it copies by its dlq.* headers only, and the relay
may send that much more than the broker takes on a source topic: else one record at the
broker's size limit gets a dead letter nobody can publish, and the relay of the service
that made it retries it forever, publishing nothing else (tests/chaos/test_poison_matrix)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from orderflow_messaging.dead_letter import DLQ_HEADROOM_BYTES, dead_letter_record
from orderflow_messaging.envelope import SourceCoordinates
from orderflow_messaging.errors import ReasonCode
from orderflow_messaging.settings import KafkaSettings

BROKER_CONFIG = Path(__file__).parents[4] / "deploy" / "kafka" / "server.properties.template"


def _header_bytes(headers: list[tuple[str, bytes]]) -> int:
    # Kafka spends a few varint bytes per header on top of name and value.
    return sum(len(name.encode()) + len(value) + 10 for name, value in headers)


def test_a_dead_letter_adds_less_than_the_headroom_to_its_record() -> None:
    original = [("trace", b"t" * 100)]
    record = dead_letter_record(
        source=SourceCoordinates("t" * 249, 2**31 - 1, 2**63 - 1),  # Kafka's longest
        key=b"k", value=b"v" * 1000, headers=original,
        reason=ReasonCode.RETRIES_EXHAUSTED, error="\U0001f4a5" * 5000,  # 4 bytes each
        exception="E" * 200, consumer="c" * 200, attempts=10**6,
        failed_at=datetime(2026, 1, 1, tzinfo=UTC),
    )  # fmt: skip
    added = _header_bytes(record.headers) - _header_bytes(original)
    assert 0 < added < DLQ_HEADROOM_BYTES
    assert (record.key, record.value) == (b"k", b"v" * 1000)


def test_the_relay_may_send_a_dead_letter_of_the_largest_record_the_broker_takes() -> None:
    found = re.search(r"^message\.max\.bytes=(\d+)$", BROKER_CONFIG.read_text(), re.M)
    assert found, "deploy/kafka/server.properties.template sets message.max.bytes"
    assert KafkaSettings().max_request_size >= int(found.group(1)) + DLQ_HEADROOM_BYTES
