"""The order-history projection: each fact, arrival order, duplicates and stale facts."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from history.application.facts import fact_of
from history.domain.projection import (
    Fact,
    Fulfilment,
    Line,
    OrderHistory,
    Placed,
    ShipmentProgressed,
    Status,
    StatusReached,
    apply,
    fold,
)
from orderflow_contracts import registry
from orderflow_contracts.checkout import OrderPlacedV1
from orderflow_contracts.common import Address, PricedLine
from orderflow_contracts.orders import OrderCancelled, OrderCompleted
from orderflow_contracts.shipping import ShipmentCreated, ShipmentDelivered
from orderflow_messaging.envelope import Envelope

T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def placed(order_id: str = "o1", seconds: float = 0) -> Placed:
    return Placed(
        order_id=order_id,
        occurred_at=at(seconds),
        customer_id="c1",
        placed_at=at(seconds),
        total_minor=2500,
        currency="EUR",
        lines=(Line("TEE", 2, 1250, "EUR"),),
    )


def status(name: Status, seconds: float, reason: str | None = None) -> StatusReached:
    return StatusReached("o1", at(seconds), name, reason)


def shipped(fulfilment: Fulfilment, seconds: float) -> ShipmentProgressed:
    return ShipmentProgressed("o1", at(seconds), fulfilment)


def one(facts: list[Fact]) -> OrderHistory:
    return fold(facts)["o1"]


def test_order_placed_fills_the_order_and_starts_placed() -> None:
    row = apply(None, placed())
    assert row.status is Status.PLACED
    assert row.status_at == T0
    assert (row.customer_id, row.total_minor, row.currency) == ("c1", 2500, "EUR")
    assert row.lines == (Line("TEE", 2, 1250, "EUR"),)
    assert row.fulfilment is Fulfilment.NONE
    assert (row.updated_at, row.events_applied) == (T0, 1)


@pytest.mark.parametrize(
    ("fact", "expected", "reason"),
    [
        (status(Status.CONFIRMED, 1), Status.CONFIRMED, None),
        (status(Status.COMPLETED, 1), Status.COMPLETED, None),
        (
            status(Status.REJECTED, 1, "insufficient stock: TEE"),
            Status.REJECTED,
            "insufficient stock: TEE",
        ),
        (status(Status.CANCELLED, 1, "payment declined"), Status.CANCELLED, "payment declined"),
        (status(Status.COMPENSATION_FAILED, 1, "x"), Status.COMPENSATION_FAILED, "x"),
    ],
)
def test_each_outcome_sets_status_reason_and_time(
    fact: StatusReached, expected: Status, reason: str | None
) -> None:
    row = one([placed(), fact])
    assert (row.status, row.reason, row.status_at) == (expected, reason, at(1))
    assert (row.updated_at, row.events_applied) == (at(1), 2)
    assert row.customer_id == "c1"


def test_shipping_moves_fulfilment_forward_only() -> None:
    row = one([placed(), shipped(Fulfilment.DISPATCHED, 5), shipped(Fulfilment.DELIVERED, 6)])
    assert row.fulfilment is Fulfilment.DELIVERED
    late_dispatch = apply(row, shipped(Fulfilment.DISPATCHED, 7))
    assert late_dispatch.fulfilment is Fulfilment.DELIVERED
    assert late_dispatch.status is Status.PLACED  # shipping says nothing about the status


def test_a_completed_order_can_still_be_cancelled() -> None:
    row = one([placed(), status(Status.COMPLETED, 2), status(Status.CANCELLED, 3, "by customer")])
    assert (row.status, row.reason) == (Status.CANCELLED, "by customer")


def test_stale_and_repeated_facts_never_move_the_status_back() -> None:
    done = one([placed(), status(Status.CONFIRMED, 1), status(Status.COMPLETED, 2)])
    for stale in (placed(), status(Status.CONFIRMED, 1), status(Status.CONFIRMED, 9)):
        again = apply(done, stale)
        assert (again.status, again.status_at) == (Status.COMPLETED, at(2))
        assert again.events_applied == done.events_applied + 1
    # Among endings, the older one loses whatever the arrival order.
    ended = one([status(Status.CANCELLED, 5, "late"), status(Status.COMPENSATION_FAILED, 4, "x")])
    assert (ended.status, ended.reason) == (Status.CANCELLED, "late")


def test_any_arrival_order_gives_the_same_row() -> None:
    facts: list[Fact] = [
        placed(),
        status(Status.CONFIRMED, 1),
        status(Status.COMPLETED, 2),
        shipped(Fulfilment.DISPATCHED, 3),
        shipped(Fulfilment.DELIVERED, 4),
        status(Status.CANCELLED, 5, "by customer"),
    ]
    rows = {one(list(order)) for order in itertools.permutations(facts)}
    assert len(rows) == 1
    (row,) = rows
    assert (row.status, row.fulfilment, row.reason) == (
        Status.CANCELLED,
        Fulfilment.DELIVERED,
        "by customer",
    )
    assert (row.customer_id, row.updated_at, row.events_applied, row.status_at) == (
        "c1",
        at(5),
        6,
        at(5),
    )


def test_an_outcome_before_the_placement_is_kept_and_completed_later() -> None:
    early = apply(None, status(Status.COMPLETED, 2))
    assert (early.status, early.customer_id, early.lines) == (Status.COMPLETED, None, None)
    row = apply(early, placed())
    assert (row.status, row.status_at, row.customer_id) == (Status.COMPLETED, at(2), "c1")
    assert (row.updated_at, row.events_applied) == (at(2), 2)


def test_facts_of_another_order_are_refused() -> None:
    with pytest.raises(ValueError, match="o2"):
        apply(apply(None, placed()), placed("o2"))


def test_fold_keeps_orders_apart() -> None:
    rows = fold([placed("o1"), placed("o2"), status(Status.COMPLETED, 1)])
    assert rows["o1"].status is Status.COMPLETED
    assert rows["o2"].status is Status.PLACED


def _decoded_fact(payload: dict[str, object], type_: str, version: int) -> Fact | None:
    """Through the registry, as the consumer and the replay tool decode a record."""
    envelope = Envelope(
        message_id=uuid4(), type=type_, version=version,
        occurred_at=T0, producer="test", correlation_id="o1", payload=payload,
    )  # fmt: skip
    decoded = registry().decode(envelope.to_bytes())
    return fact_of(decoded.message, decoded.envelope.occurred_at)


def test_order_placed_v1_is_read_through_its_upcast() -> None:
    v1 = OrderPlacedV1(
        order_id="o1", customer_id="c1", currency="EUR", total_minor=2500,
        lines=[PricedLine(sku="TEE", quantity=2, unit_price_minor=1250)],
        shipping_address=Address(name="A", line1="1 St", city="B", postcode="1", country="DE"),
        payment_token="tok_ok", placed_at=T0,
    )  # fmt: skip
    fact = _decoded_fact(v1.model_dump(mode="json"), "OrderPlaced", 1)
    assert fact == placed()


def test_contract_messages_become_facts_and_others_are_ignored() -> None:
    assert fact_of(OrderCompleted(order_id="o1", total_minor=1), T0) == StatusReached(
        "o1", T0, Status.COMPLETED
    )
    assert fact_of(OrderCancelled(order_id="o1", reason="r"), T0) == StatusReached(
        "o1", T0, Status.CANCELLED, "r"
    )
    assert fact_of(ShipmentDelivered(order_id="o1", shipment_id="s"), T0) == ShipmentProgressed(
        "o1", T0, Fulfilment.DELIVERED
    )
    created = ShipmentCreated(order_id="o1", shipment_id="s", carrier="c", tracking_number="t")
    assert fact_of(created, T0) is None
