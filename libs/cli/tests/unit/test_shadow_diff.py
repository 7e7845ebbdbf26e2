"""The comparison of a shadow saga with the live one: which fields, and how they show."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from orderflow_cli.commands.shadow_replay import FIELDS, diff, snapshot
from orders.saga.state import Facts, OrderData, OrderLine, Saga, SagaStatus, Step

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
ORDER = OrderData(
    customer_id="c1",
    lines=(OrderLine("TEE-BLK-M", 1, 1990),),
    currency="EUR",
    total_minor=1990,
    address={"name": "Ada", "line1": "1 Way", "city": "Berlin", "postcode": "1", "country": "DE"},
    payment_token="tok_ok",
)
CANCELLED = Saga(
    "order-1",
    ORDER,
    SagaStatus.CANCELLED,
    None,
    0,
    None,
    Facts(stock_reserved=True),
    reason="payment declined: card_declined",
    version=4,
)


def test_same_state_has_no_difference() -> None:
    assert diff(snapshot(CANCELLED), snapshot(CANCELLED)) == []


def test_when_and_how_often_it_was_saved_is_not_compared() -> None:
    later = replace(CANCELLED, deadline=T0 + timedelta(seconds=9), version=1)
    assert diff(snapshot(CANCELLED), snapshot(later)) == []


def test_names_each_changed_field_in_a_fixed_order() -> None:
    shadow = replace(
        CANCELLED,
        status=SagaStatus.COMPENSATING,
        step=Step.RELEASE_STOCK,
        attempt=2,
        reason="AUTHORIZE_PAYMENT timed out",
    )
    assert diff(snapshot(CANCELLED), snapshot(shadow)) == ["status", "step", "attempt", "reason"]


def test_one_fact_or_one_pending_compensation_makes_a_difference() -> None:
    other_facts = replace(CANCELLED, facts=Facts(stock_reserved=True, payment_authorized=True))
    pending = replace(CANCELLED, compensations=(Step.RELEASE_STOCK,))
    assert diff(snapshot(CANCELLED), snapshot(other_facts)) == ["facts"]
    assert diff(snapshot(CANCELLED), snapshot(pending)) == ["compensations"]


def test_only_the_status_differs_when_rejected_instead_of_cancelled() -> None:
    rejected = replace(CANCELLED, status=SagaStatus.REJECTED)
    assert diff(snapshot(CANCELLED), snapshot(rejected)) == ["status"]


def test_snapshot_is_json_data_of_every_compared_field() -> None:
    shown = snapshot(replace(CANCELLED, compensations=(Step.VOID_PAYMENT, Step.RELEASE_STOCK)))
    assert tuple(shown) == FIELDS
    assert shown["status"] == "CANCELLED"
    assert shown["step"] is None
    assert shown["facts"]["stock_reserved"] is True
    assert shown["facts"]["payment_authorized"] is False
    assert shown["compensations"] == ["VOID_PAYMENT", "RELEASE_STOCK"]


def test_a_missing_field_counts_as_different() -> None:
    live = snapshot(CANCELLED)
    partial = {k: v for k, v in live.items() if k != "reason"}
    assert diff(live, partial) == ["reason"]
