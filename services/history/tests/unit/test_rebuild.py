"""Rebuilding in memory (what `orderflow replay projection order-history` runs) and
comparing two versions of the projection."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from uuid import uuid4

from history.application.rebuild import Rebuild
from history.domain.compare import compare
from history.domain.projection import Status
from orderflow_contracts.orders import OrderCompleted, OrderConfirmed
from orderflow_contracts.shipping import ShipmentCreated

T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)


def test_rebuild_applies_each_message_once_and_skips_ignored_types() -> None:
    rebuild = Rebuild()
    confirmed, completed = uuid4(), uuid4()
    assert rebuild.feed(confirmed, OrderConfirmed(order_id="o1"), T0) == "applied"
    assert (
        rebuild.feed(
            completed, OrderCompleted(order_id="o1", total_minor=5), T0 + timedelta(seconds=1)
        )
        == "applied"
    )
    # a re-published copy (orderflow replay topic) has the same message id
    assert (
        rebuild.feed(
            completed, OrderCompleted(order_id="o1", total_minor=5), T0 + timedelta(seconds=1)
        )
        == "duplicate"
    )
    created = ShipmentCreated(order_id="o1", shipment_id="s", carrier="c", tracking_number="t")
    assert rebuild.feed(uuid4(), created, T0) == "ignored"
    row = rebuild.rows["o1"]
    assert (row.status, row.events_applied) == (Status.COMPLETED, 2)
    assert dict(rebuild.counts) == {"applied": 2, "duplicate": 1, "ignored": 1}


def test_compare_reports_missing_extra_and_differing_columns() -> None:
    rebuild = Rebuild()
    for order_id in ("a", "b", "c"):
        rebuild.feed(uuid4(), OrderConfirmed(order_id=order_id), T0)
    rows = rebuild.rows
    live = [rows["a"], replace(rows["b"], status=Status.COMPLETED, events_applied=3), rows["c"]]
    rebuilt = [rows["a"], rows["b"], replace(rows["a"], order_id="d")]
    diff = compare(live, rebuilt)
    assert (diff.missing, diff.extra, diff.compared) == (["c"], ["d"], 2)
    assert diff.differing == {
        "b": {"status": (Status.COMPLETED, Status.CONFIRMED), "events_applied": (3, 1)}
    }
    assert diff.count == 3
    assert compare(live, rebuilt, skip=frozenset({"b", "c", "d"})).count == 0
    assert compare(rebuilt, rebuilt).count == 0
