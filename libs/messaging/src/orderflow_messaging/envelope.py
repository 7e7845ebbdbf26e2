"""The envelope every orderflow message travels in, and its Kafka form.

Type, version, message id and correlation id are copied into Kafka headers so that a
consumer (or an operator with a console consumer) can route and trace without parsing
the body. The body stays the source of truth.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import orjson
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

HEADER_MESSAGE_ID = "message_id"
HEADER_TYPE = "type"
HEADER_VERSION = "version"
HEADER_CORRELATION_ID = "correlation_id"
HEADER_CAUSATION_ID = "causation_id"
HEADER_PRODUCER = "producer"

Headers = list[tuple[str, bytes]]


class Envelope(BaseModel):
    """Metadata around a payload. ``payload`` is the versioned message body as JSON data."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    message_id: UUID
    type: str = Field(min_length=1, max_length=128)
    version: int = Field(ge=1)
    occurred_at: AwareDatetime
    producer: str = Field(min_length=1, max_length=64)
    correlation_id: str = Field(min_length=1, max_length=128)
    causation_id: UUID | None = None
    payload: dict[str, Any]

    @field_validator("occurred_at")
    @classmethod
    def _to_utc(cls, value: datetime) -> datetime:
        return value.astimezone(UTC)

    def to_bytes(self) -> bytes:
        """The record's value. orjson writes the same JSON text as pydantic (same field
        order, UTC as ``Z``, compact) in about half the time; what it refuses (an integer
        beyond 64 bits) is written by pydantic."""
        try:
            return orjson.dumps(
                {
                    "message_id": self.message_id, "type": self.type, "version": self.version,
                    "occurred_at": self.occurred_at, "producer": self.producer,
                    "correlation_id": self.correlation_id, "causation_id": self.causation_id,
                    "payload": self.payload,
                },
                default=json_default, option=orjson.OPT_UTC_Z,
            )  # fmt: skip
        except TypeError:  # orjson.JSONEncodeError
            return self.model_dump_json().encode()

    def kafka_headers(self) -> Headers:
        headers: Headers = [
            (HEADER_MESSAGE_ID, str(self.message_id).encode()),
            (HEADER_TYPE, self.type.encode()),
            (HEADER_VERSION, str(self.version).encode()),
            (HEADER_CORRELATION_ID, self.correlation_id.encode()),
            (HEADER_PRODUCER, self.producer.encode()),
        ]
        if self.causation_id is not None:
            headers.append((HEADER_CAUSATION_ID, str(self.causation_id).encode()))
        return headers


@dataclass(frozen=True, slots=True)
class SourceCoordinates:
    """Where a consumed record came from."""

    topic: str
    partition: int
    offset: int

    def __str__(self) -> str:
        return f"{self.topic}/{self.partition}@{self.offset}"


def header_value(headers: Sequence[tuple[str, bytes]], name: str) -> bytes | None:
    """The last value of a header, as Kafka clients resolve duplicates."""
    found: bytes | None = None
    for key, value in headers:
        if key == name:
            found = value
    return found


def json_default(value: Any) -> Any:
    """JSON encoder hook for the few non-JSON types our payloads carry."""
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dumps(data: Any) -> bytes:
    return json.dumps(data, default=json_default, separators=(",", ":")).encode()
