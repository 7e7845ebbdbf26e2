"""Scenario a: kill -9 the payment service 3 times while ~150 orders flow."""

from __future__ import annotations

import time

import pytest

from orderflow_testing.chaos import Cluster
from orderflow_testing.chaos_faults import query
from orderflow_testing.chaos_load import Load

from .conftest import assert_verified

pytestmark = [pytest.mark.chaos, pytest.mark.chaos_fast, pytest.mark.timeout(300)]


def test_payment_killed_three_times_charges_nothing_twice(cluster: Cluster) -> None:
    load = Load(cluster.url("checkout"), count=150, rate=5.0, seed=11).start()
    for _ in range(3):
        time.sleep(4.0)
        assert cluster.alive("payment")
        cluster.kill("payment")
        time.sleep(1.0)
        cluster.start_service("payment")
    accepted = load.join(timeout=120)
    assert len(accepted) == 150, [o.error for o in load.orders if not o.order_id][:5]

    report = cluster.settle(timeout=180)
    assert_verified(report)  # money, stock conserved, every order terminal, lag 0
    twice = query(
        cluster.admin_url,
        "SELECT order_id, kind, count(*) AS n FROM payment.gateway_ledger "
        "WHERE result = 'approved' AND kind IN ('authorize', 'capture') "
        "GROUP BY order_id, kind HAVING count(*) > 1",
    )
    assert twice == [], f"charged more than once: {twice}"
    statuses = query(
        cluster.admin_url,
        "SELECT status, count(*) AS n FROM orders.sagas WHERE order_id = ANY($1::text[]) "
        "GROUP BY status",
        accepted,
    )
    assert sum(r["n"] for r in statuses) == 150
    assert any(r["status"] == "COMPLETED" for r in statuses), statuses
