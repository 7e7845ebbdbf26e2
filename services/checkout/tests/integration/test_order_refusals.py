"""Refused requests to POST /orders: 400 for the key, 422 for the body with every reason,
and none of them writes an order or a message."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from .checkout_app import BODY, Checkout


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        (None, "the Idempotency-Key header is required"),
        ("", "must be 1 to 128 characters"),
        ("k" * 129, "must be 1 to 128 characters"),
    ],
)
async def test_unusable_idempotency_key_is_400(
    checkout: Checkout, key: str | None, reason: str
) -> None:
    response = await checkout.place(key=key)
    assert response.status_code == 400
    assert response.json() == {"detail": [{"field": "Idempotency-Key", "reason": reason}]}
    assert await checkout.count("orders") == 0
    assert await checkout.count("outbox") == 0


def _with(change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    body = copy.deepcopy(BODY)
    change(body)
    return body


def _line(index: int, **values: Any) -> Callable[[dict[str, Any]], None]:
    return lambda body: body["lines"][index].update(values)


def _set(**values: Any) -> Callable[[dict[str, Any]], None]:
    return lambda body: body.update(values)


INVALID = [
    pytest.param(
        _with(_line(0, quantity=0)),
        [("lines[0].quantity", "must be 1 to 10000, not 0")],
        id="zero quantity",
    ),
    pytest.param(
        _with(_line(1, quantity=10_001)),
        [("lines[1].quantity", "must be 1 to 10000, not 10001")],
        id="huge quantity",
    ),
    pytest.param(_with(_line(1, sku="X")), [("lines[1].sku", "unknown SKU 'X'")], id="unknown SKU"),
    pytest.param(
        _with(_line(0, sku="RETIRED-HAT")),
        [("lines[0].sku", "SKU 'RETIRED-HAT' is not for sale")],
        id="inactive SKU",
    ),
    pytest.param(
        _with(_line(0, sku="US-ONLY")),
        [("lines[0].sku", "SKU 'US-ONLY' is priced in USD, not EUR")],
        id="foreign price",
    ),
    pytest.param(
        _with(_set(currency="USD", lines=[{"sku": "TEE-BLK-M", "quantity": 1}])),
        [("lines[0].sku", "SKU 'TEE-BLK-M' is priced in EUR, not USD")],
        id="wrong currency",
    ),
    pytest.param(
        _with(_set(currency="euro")),
        [("currency", "must be a three-letter ISO 4217 code such as EUR")],
        id="bad currency",
    ),
    pytest.param(
        _with(_set(lines=[])), [("lines", "an order has 1 to 100 lines, not 0")], id="no lines"
    ),
    pytest.param(
        _with(_set(lines=[{"sku": "MUG-ENAMEL", "quantity": 1}] * 101)),
        [("lines", "an order has 1 to 100 lines, not 101")],
        id="too many lines",
    ),
    pytest.param(
        _with(_set(payment_token="4242424242424242")),
        [("payment_token", "must match ^tok_[a-z0-9_]{1,60}$")],
        id="bad token",
    ),
    pytest.param(
        _with(lambda b: b["shipping_address"].update(country="gb")),
        [("shipping_address.country", "must be a two-letter ISO 3166 code such as DE")],
        id="bad country",
    ),
    pytest.param(
        _with(lambda b: b.pop("payment_token")),
        [("payment_token", "Field required")],
        id="missing field",
    ),
    pytest.param(
        _with(_line(0, quantity="2")),
        [("lines[0].quantity", "Input should be a valid integer")],
        id="quantity as text",
    ),
    pytest.param(
        _with(_set(coupon="FREE")),
        [("coupon", "Extra inputs are not permitted")],
        id="unknown field",
    ),
]


@pytest.mark.parametrize(("body", "expected"), INVALID)
async def test_each_invalid_kind_is_422_and_writes_nothing(
    checkout: Checkout, body: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    response = await checkout.place(body)
    assert response.status_code == 422
    assert response.json() == {"detail": [{"field": f, "reason": r} for f, r in expected]}
    assert await checkout.count("orders") == 0
    assert await checkout.count("outbox") == 0


async def test_every_reason_is_listed_at_once(checkout: Checkout) -> None:
    body = _with(_set(payment_token="card", lines=[{"sku": "X", "quantity": 0}]))
    response = await checkout.place(body)
    assert response.status_code == 422
    assert response.json()["detail"] == [
        {"field": "lines[0].quantity", "reason": "must be 1 to 10000, not 0"},
        {"field": "lines[0].sku", "reason": "unknown SKU 'X'"},
        {"field": "payment_token", "reason": "must match ^tok_[a-z0-9_]{1,60}$"},
    ]


async def test_malformed_json_is_422(checkout: Checkout) -> None:
    response = await checkout.client.post(
        "/orders", content=b"{not json", headers={"Idempotency-Key": "k"}
    )
    assert response.status_code == 422
    [problem] = response.json()["detail"]
    assert problem["field"] == "body"
    assert problem["reason"].startswith("Invalid JSON")
    assert await checkout.count("orders") == 0


async def test_a_refused_key_can_be_used_once_the_request_is_fixed(checkout: Checkout) -> None:
    assert (await checkout.place(_with(_line(0, quantity=0)))).status_code == 422
    assert (await checkout.place()).status_code == 202
    assert await checkout.count("orders") == 1
