"""Records shaped as Kafka delivers them, to feed a real consumer without a broker."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from orderflow_messaging.envelope import Envelope


@dataclass
class Record:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Sequence[tuple[str, bytes]] = field(default_factory=list)


def record(topic: str, offset: int, envelope: Envelope) -> Record:
    """``envelope`` at ``offset`` of partition 0, keyed by its correlation id."""
    return Record(
        topic,
        0,
        offset,
        envelope.correlation_id.encode(),
        envelope.to_bytes(),
        envelope.kafka_headers(),
    )
