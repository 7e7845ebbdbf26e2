"""Scenario b: kill -9 the orders coordinator during compensation, restart it."""

from __future__ import annotations

import time

import pytest

from orderflow_testing.chaos import Cluster
from orderflow_testing.chaos_faults import query
from orderflow_testing.chaos_load import COMPENSATING_MIX, Load

from .conftest import assert_verified

pytestmark = [pytest.mark.chaos, pytest.mark.chaos_fast, pytest.mark.timeout(300)]


def test_coordinator_killed_during_compensation(cluster: Cluster) -> None:
    # Declines and carrier rejections compensate; tok_timeout orders leave deadlines
    # (ORDERS_STEP_TIMEOUT_S=3) pending while the coordinator is down.
    load = Load(cluster.url("checkout"), count=40, rate=8.0, mix=COMPENSATING_MIX, seed=5)
    load.run()
    timeouts = Load(
        cluster.url("checkout"), count=6, rate=20.0, mix=((1, "tok_timeout", "10115"),), seed=6
    )
    timeouts.run()
    time.sleep(0.5)  # mid-compensation for the first, mid-flow for the last
    cluster.kill("orders")
    time.sleep(8.0)  # every pending deadline is now past due, nobody fires it
    cluster.start_service("orders")
    time.sleep(3.0)
    cluster.kill("orders")  # once more, while it catches up
    cluster.start_service("orders")

    report = cluster.settle(timeout=150)
    assert_verified(report)
    compensated = load.by_token("tok_decline") + [
        o.order_id for o in load.orders if o.order_id and o.postcode.startswith("00")
    ]
    timed_out = timeouts.accepted
    rows = query(
        cluster.admin_url,
        "SELECT s.order_id, s.status, r.status AS reservation FROM orders.sagas s "
        "LEFT JOIN inventory.reservations r ON r.order_id = s.order_id "
        "WHERE s.order_id = ANY($1::text[])",
        compensated + timed_out,
    )
    by_id = {r["order_id"]: r for r in rows}
    assert len(by_id) == len(compensated) + len(timed_out)
    for order_id in compensated + timed_out:
        row = by_id[order_id]
        assert row["status"] in ("CANCELLED", "REJECTED"), row
        # released once: a second release would break initial = available + reserved +
        # committed (verify's stock check); a missing one leaves 'reserved'.
        assert row["reservation"] in (None, "released", "rejected", "expired"), row
    # The deadlines that came due while the coordinator was dead fired after the restart.
    fired = query(
        cluster.admin_url,
        "SELECT count(DISTINCT order_id) AS n FROM orders.saga_history "
        "WHERE order_id = ANY($1::text[]) AND kind = 'timeout'",
        timed_out,
    )
    assert fired[0]["n"] == len(timed_out)
