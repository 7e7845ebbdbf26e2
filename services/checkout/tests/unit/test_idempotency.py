"""Idempotency keys and request fingerprints (and the request parsing they rely on)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from typing import Any

import pytest

from checkout.domain.idempotency import check_idempotency_key, fingerprint
from checkout.domain.model import AddressDraft, DeliveryDraft, LineDraft, OrderDraft, Problem
from checkout.entrypoints.requests import field_path, parse_order

DRAFT = OrderDraft(
    customer_id="c-1",
    lines=(LineDraft("TEE", 2), LineDraft("MUG", 1)),
    shipping_address=AddressDraft("Ada", "1 Way", "London", "N1", "GB"),
    payment_token="tok_visa",
)
BODY: dict[str, Any] = {
    "customer_id": "c-1",
    "lines": [{"sku": "TEE", "quantity": 2}, {"sku": "MUG", "quantity": 1}],
    "shipping_address": {
        "name": "Ada", "line1": "1 Way", "city": "London", "postcode": "N1", "country": "GB",
    },
    "payment_token": "tok_visa",
}  # fmt: skip


def test_a_request_without_coupons_fingerprints_as_before_coupons_existed() -> None:
    # The canonical JSON of a draft as it was before coupons and delivery choices: a
    # retry across the upgrade
    # must still be the same request.
    before = json.dumps(
        {
            "currency": "EUR", "customer_id": "c-1",
            "lines": [{"quantity": 2, "sku": "TEE"}, {"quantity": 1, "sku": "MUG"}],
            "payment_token": "tok_visa",
            "shipping_address": {
                "city": "London", "country": "GB", "line1": "1 Way", "name": "Ada",
                "postcode": "N1",
            },
        },
        separators=(",", ":"),
    )  # fmt: skip
    assert fingerprint(DRAFT) == hashlib.sha256(before.encode()).hexdigest()


def test_fingerprint_is_a_stable_sha256() -> None:
    value = fingerprint(DRAFT)
    assert len(value) == 64
    assert int(value, 16) >= 0
    assert fingerprint(replace(DRAFT)) == value


@pytest.mark.parametrize(
    "changed",
    [
        replace(DRAFT, customer_id="c-2"),
        replace(DRAFT, lines=(LineDraft("TEE", 3), LineDraft("MUG", 1))),
        replace(DRAFT, lines=(LineDraft("MUG", 1), LineDraft("TEE", 2))),
        replace(DRAFT, payment_token="tok_other"),
        replace(DRAFT, currency="USD"),
        replace(DRAFT, coupons=("TEN",)),
        replace(DRAFT, delivery=DeliveryDraft("home")),
        replace(DRAFT, delivery=DeliveryDraft("pickup", "mitte")),
        replace(DRAFT, shipping_address=replace(DRAFT.shipping_address, postcode="N2")),
    ],
)
def test_any_difference_changes_the_fingerprint(changed: OrderDraft) -> None:
    assert fingerprint(changed) != fingerprint(DRAFT)


def test_key_order_spacing_and_default_currency_do_not_matter() -> None:
    compact = json.dumps(BODY, separators=(",", ":")).encode()
    reordered = json.dumps(dict(reversed(list(BODY.items()))), indent=2).encode()
    explicit = json.dumps({**BODY, "currency": "EUR"}).encode()
    drafts = [parse_order(body) for body in (compact, reordered, explicit)]
    assert all(isinstance(d, OrderDraft) for d in drafts)
    assert {fingerprint(d) for d in drafts if isinstance(d, OrderDraft)} == {fingerprint(DRAFT)}


@pytest.mark.parametrize("key", ["k", "a" * 128, "3f1c7e1e-0b7c-4a39-9d43-6a1f1c2b9e10"])
def test_usable_keys(key: str) -> None:
    assert check_idempotency_key(key) == key


def test_unusable_keys() -> None:
    assert check_idempotency_key(None) == Problem(
        "Idempotency-Key", "the Idempotency-Key header is required"
    )
    for key in ("", "a" * 129):
        assert check_idempotency_key(key) == Problem(
            "Idempotency-Key", "must be 1 to 128 characters"
        )


def test_shape_problems_name_their_field() -> None:
    body = {**BODY, "lines": [{"sku": "TEE", "quantity": "2"}, {"quantity": 1}], "x": 1}
    problems = parse_order(json.dumps(body).encode())
    assert isinstance(problems, list)
    assert sorted((p.field, p.reason) for p in problems) == [
        ("lines[0].quantity", "Input should be a valid integer"),
        ("lines[1].sku", "Field required"),
        ("x", "Extra inputs are not permitted"),
    ]


def test_shape_problems_never_echo_the_input() -> None:
    body = {**BODY, "payment_token": 4242424242424242}
    problems = parse_order(json.dumps(body).encode())
    assert isinstance(problems, list)
    assert [p.field for p in problems] == ["payment_token"]
    assert "4242" not in problems[0].reason


@pytest.mark.parametrize("raw", [b"", b"{", b"[]", b"null"])
def test_a_body_that_is_no_object_is_a_body_problem(raw: bytes) -> None:
    problems = parse_order(raw)
    assert isinstance(problems, list)
    assert [p.field for p in problems] == ["body"]


def test_field_paths() -> None:
    assert field_path(()) == "body"
    assert field_path(("lines", 1, "sku")) == "lines[1].sku"
    assert field_path(("shipping_address", "country")) == "shipping_address.country"
