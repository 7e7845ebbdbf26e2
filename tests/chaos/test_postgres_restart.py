"""Scenario e: PostgreSQL restarted (fast, then immediate) under light load: the pools
reconnect, and every inbox row and its effect are both present or both absent (verify's
consistency, stock, money and handled checks)."""

from __future__ import annotations

import time

import pytest

from orderflow_testing.chaos import SERVICES, Cluster
from orderflow_testing.chaos_load import Load

from .conftest import assert_verified

pytestmark = [pytest.mark.chaos, pytest.mark.timeout(420)]


@pytest.mark.parametrize("mode", ["fast", "immediate"])
def test_postgres_restart(cluster: Cluster, mode: str) -> None:
    load = Load(cluster.url("checkout"), count=90, rate=3.0, seed=31, attempts=12).start()
    time.sleep(8)
    cluster.postgres_stop(mode)
    time.sleep(5)
    assert all(cluster.alive(s) for s in SERVICES), "a service died with the database"
    cluster.up()  # starts PostgreSQL again; the services keep running
    time.sleep(10)
    cluster.postgres_stop(mode)  # a second time, while the pools reconnect
    time.sleep(2)
    cluster.up()
    accepted = load.join(timeout=120)
    assert len(accepted) >= 60, [o.error for o in load.orders if not o.order_id][:5]
    ready_by = time.monotonic() + 60
    while not all(cluster.healthy(s, "/readyz") for s in SERVICES):
        assert time.monotonic() < ready_by, "a service never became ready after the restart"
        time.sleep(1)
    assert all(cluster.alive(s) for s in SERVICES), "a service died with the database"

    report = cluster.settle(timeout=180)
    assert_verified(report)
