"""Scenario a: kill -9 the payment service 3 times while orders flow: 150 in the fast
tier (every CI run), 500 as RELIABILITY.md names it in the full suite."""

from __future__ import annotations

import time

import pytest

from orderflow_testing.chaos import Cluster
from orderflow_testing.chaos_faults import query
from orderflow_testing.chaos_load import Load

from .conftest import assert_verified

pytestmark = [pytest.mark.chaos, pytest.mark.timeout(420)]


@pytest.mark.parametrize(
    ("orders", "rate"),
    [
        pytest.param(150, 5.0, marks=pytest.mark.chaos_fast, id="150"),
        pytest.param(500, 10.0, id="500"),
    ],
)
def test_payment_killed_three_times_charges_nothing_twice(
    cluster: Cluster, orders: int, rate: float
) -> None:
    load = Load(cluster.url("checkout"), count=orders, rate=rate, seed=11).start()
    between_kills = orders / rate / 5
    for _ in range(3):
        time.sleep(between_kills)
        assert cluster.alive("payment")
        cluster.kill("payment")
        time.sleep(1.0)
        cluster.start_service("payment")
    accepted = load.join(timeout=180)
    assert len(accepted) == orders, [o.error for o in load.orders if not o.order_id][:5]

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
    assert sum(r["n"] for r in statuses) == orders
    assert any(r["status"] == "COMPLETED" for r in statuses), statuses
