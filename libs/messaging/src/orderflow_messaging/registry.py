"""Message types and versions, and turning consumed bytes into typed messages.

A registry maps ``(type, version)`` to the pydantic model of that version. Older versions
are upcast step by step (v1 -> v2 -> ...) to the newest one, so a handler only ever sees
the newest model of a type.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError

from orderflow_messaging.envelope import Envelope
from orderflow_messaging.errors import PoisonMessage, ReasonCode

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


class Message(BaseModel):
    """Base of every event, command and reply body. Subclasses set TYPE and VERSION.

    Tolerant reader: unknown fields are ignored, so a producer may add an optional field
    to a version without breaking the consumers that do not know it yet."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    TYPE: ClassVar[str]
    VERSION: ClassVar[int] = 1


@dataclass(frozen=True, slots=True)
class Decoded:
    """A consumed message: its envelope as sent and its body upcast to the newest version."""

    envelope: Envelope
    message: Message


class MessageRegistry:
    """Known message types; decoding of raw record values."""

    def __init__(self, max_bytes: int = 1_048_576) -> None:
        self._models: dict[tuple[str, int], type[Message]] = {}
        self._upcasters: dict[tuple[str, int], Upcaster] = {}
        self._latest: dict[str, int] = {}
        self.max_bytes = max_bytes

    def register(self, *models: type[Message]) -> None:
        for model in models:
            key = (model.TYPE, model.VERSION)
            existing = self._models.get(key)
            if existing is not None and existing is not model:
                raise ValueError(f"{model.TYPE} v{model.VERSION} registered twice")
            self._models[key] = model
            self._latest[model.TYPE] = max(self._latest.get(model.TYPE, 0), model.VERSION)

    def register_upcaster(self, type_: str, from_version: int, upcaster: Upcaster) -> None:
        """``upcaster`` turns a ``from_version`` payload into a ``from_version + 1`` one."""
        self._upcasters[(type_, from_version)] = upcaster

    def model(self, type_: str, version: int) -> type[Message]:
        return self._models[(type_, version)]

    def models(self) -> list[type[Message]]:
        return sorted(self._models.values(), key=lambda m: (m.TYPE, m.VERSION))

    def knows(self, type_: str) -> bool:
        return type_ in self._latest

    def decode(self, value: bytes | None) -> Decoded:
        """Parse, validate and upcast; raise PoisonMessage with a reason code otherwise."""
        envelope = self.parse_envelope(value)
        return Decoded(envelope=envelope, message=self.decode_payload(envelope))

    def parse_envelope(self, value: bytes | None, *, max_bytes: int | None = None) -> Envelope:
        limit = max_bytes if max_bytes is not None else self.max_bytes
        if value is None:
            raise PoisonMessage(ReasonCode.MALFORMED_JSON, "record has no value (tombstone)")
        if len(value) > limit:
            raise PoisonMessage(
                ReasonCode.OVERSIZED, f"{len(value)} bytes exceeds limit of {limit}"
            )
        try:
            value.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise PoisonMessage(ReasonCode.INVALID_ENCODING, f"not UTF-8: {exc}") from exc
        # pydantic-core parses and validates in one pass (about 2x json.loads +
        # model_validate), with json.loads' semantics for big integers and NaN; orjson
        # would turn integers beyond 64 bits into floats. It also refuses lone surrogates,
        # which json.loads let through to fail later, in the database.
        try:
            return Envelope.model_validate_json(value)
        except ValidationError as exc:
            if any(error["type"] == "json_invalid" for error in exc.errors()):
                raise PoisonMessage(ReasonCode.MALFORMED_JSON, _summary(exc)) from exc
            raise PoisonMessage(ReasonCode.INVALID_ENVELOPE, _summary(exc)) from exc

    def decode_payload(self, envelope: Envelope) -> Message:
        if envelope.type not in self._latest:
            raise PoisonMessage(ReasonCode.UNKNOWN_TYPE, f"unknown message type {envelope.type!r}")
        model = self._models.get((envelope.type, envelope.version))
        if model is None:
            raise PoisonMessage(
                ReasonCode.UNKNOWN_VERSION,
                f"{envelope.type} v{envelope.version} is not supported "
                f"(newest known: v{self._latest[envelope.type]})",
            )
        validated = self._validated(model, envelope.payload)
        if envelope.version == self._latest[envelope.type]:
            return validated  # the common case: no upcast, validated once
        payload = validated.model_dump(mode="json")
        version = envelope.version
        while version < self._latest[envelope.type]:
            upcaster = self._upcasters.get((envelope.type, version))
            if upcaster is None:
                raise PoisonMessage(
                    ReasonCode.UNKNOWN_VERSION, f"no upcaster for {envelope.type} v{version}"
                )
            try:
                payload = upcaster(payload)
            except Exception as exc:  # an upcaster bug must not stall the partition
                raise PoisonMessage(
                    ReasonCode.SCHEMA_INVALID,
                    f"upcasting {envelope.type} v{version} failed: {type(exc).__name__}",
                ) from exc
            version += 1
        return self._validated(self._models[(envelope.type, version)], payload)

    @staticmethod
    def _validated(model: type[Message], payload: dict[str, Any]) -> Message:
        try:
            return model.model_validate(payload)
        except ValidationError as exc:
            raise PoisonMessage(
                ReasonCode.SCHEMA_INVALID, f"{model.TYPE} v{model.VERSION}: {_summary(exc)}"
            ) from exc


def _summary(exc: ValidationError) -> str:
    """A short, data-free description of what failed (no input values: they may be personal)."""
    parts = [
        f"{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}"
        for err in exc.errors()[:5]
    ]
    more = exc.error_count() - len(parts)
    return "; ".join(parts) + (f" (+{more} more)" if more > 0 else "")
