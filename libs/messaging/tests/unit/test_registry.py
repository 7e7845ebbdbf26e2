"""Decoding consumed bytes: every kind of poison gets its reason; old versions upcast."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from orderflow_messaging.errors import PoisonMessage, ReasonCode
from orderflow_messaging.registry import Message, MessageRegistry


class PriceSetV1(Message):
    TYPE = "PriceSet"
    VERSION = 1
    sku: str
    price: int


class PriceSetV2(Message):
    TYPE = "PriceSet"
    VERSION = 2
    sku: str
    amount: int
    currency: str


def registry() -> MessageRegistry:
    reg = MessageRegistry(max_bytes=10_000)
    reg.register(PriceSetV1, PriceSetV2)
    reg.register_upcaster(
        "PriceSet", 1, lambda p: {"sku": p["sku"], "amount": p["price"], "currency": "EUR"}
    )
    return reg


def raw(version: int = 2, type_: str = "PriceSet", **payload: Any) -> bytes:
    body = payload or {"sku": "A-1", "amount": 100, "currency": "EUR"}
    return json.dumps(
        {
            "message_id": str(uuid.uuid4()),
            "type": type_,
            "version": version,
            "occurred_at": datetime.now(UTC).isoformat(),
            "producer": "catalog",
            "correlation_id": "A-1",
            "payload": body,
        }
    ).encode()


def test_decodes_newest_version() -> None:
    decoded = registry().decode(raw())
    assert decoded.message == PriceSetV2(sku="A-1", amount=100, currency="EUR")


def test_upcasts_v1_to_v2() -> None:
    decoded = registry().decode(raw(version=1, sku="A-1", price=250))
    assert decoded.message == PriceSetV2(sku="A-1", amount=250, currency="EUR")
    assert decoded.envelope.version == 1


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (None, ReasonCode.MALFORMED_JSON),
        (b"\xff\xfe", ReasonCode.INVALID_ENCODING),
        (b"{not json", ReasonCode.MALFORMED_JSON),
        (b"[1, 2]", ReasonCode.INVALID_ENVELOPE),
        (raw(type_="Nope"), ReasonCode.UNKNOWN_TYPE),
        (raw(version=99), ReasonCode.UNKNOWN_VERSION),
        (raw(sku="A-1", amount="lots", currency="EUR"), ReasonCode.SCHEMA_INVALID),
        (raw(sku="A-1"), ReasonCode.SCHEMA_INVALID),
        (b" " * 10_001, ReasonCode.OVERSIZED),
    ],
)
def test_poison_reasons(value: bytes | None, reason: ReasonCode) -> None:
    with pytest.raises(PoisonMessage) as caught:
        registry().decode(value)
    assert caught.value.reason is reason


def test_schema_errors_do_not_echo_input_values() -> None:
    with pytest.raises(PoisonMessage) as caught:
        registry().decode(raw(sku="A-1", amount="card 4111-1111-1111-1111", currency="EUR"))
    assert "4111" not in str(caught.value)
    assert "amount" in str(caught.value)


def test_unknown_fields_are_ignored_tolerant_reader() -> None:
    decoded = registry().decode(raw(sku="A-1", amount=1, currency="EUR", added_in_v2_1=True))
    assert decoded.message == PriceSetV2(sku="A-1", amount=1, currency="EUR")


def test_registering_a_different_model_twice_is_an_error() -> None:
    class Other(Message):
        TYPE = "PriceSet"
        VERSION = 1

    with pytest.raises(ValueError, match="registered twice"):
        registry().register(Other)
