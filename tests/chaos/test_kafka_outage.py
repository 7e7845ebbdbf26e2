"""Scenario d: the Kafka broker stopped (SIGTERM) for 30 s, then killed (SIGKILL),
under light load: nothing hangs, checkout keeps accepting orders into its outbox, and
everything drains once the broker is back."""

from __future__ import annotations

import signal
import time

import pytest

from orderflow_testing.chaos import SERVICES, Cluster
from orderflow_testing.chaos_faults import query
from orderflow_testing.chaos_load import Load

from .conftest import assert_verified

pytestmark = [pytest.mark.chaos, pytest.mark.timeout(420)]

OUTAGE_S = 30.0  # RELIABILITY.md: "stopped 30 s and killed"


def _all_answer_healthz(cluster: Cluster) -> list[str]:
    return [s for s in SERVICES if not cluster.healthy(s, timeout=3.0)]


def test_broker_stopped_then_killed(cluster: Cluster) -> None:
    load = Load(cluster.url("checkout"), count=120, rate=2.0, seed=21).start()
    time.sleep(5)
    cluster.kafka_signal(signal.SIGTERM)
    during = Load(cluster.url("checkout"), count=30, rate=2.0, seed=22, attempts=1)
    started = time.monotonic()
    during.start()
    silent: list[str] = []
    while time.monotonic() - started < OUTAGE_S:
        silent += _all_answer_healthz(cluster)
        time.sleep(2)
    during.join(timeout=30)
    assert silent == [], f"/healthz did not answer while Kafka was down: {silent}"
    codes = [o.status_code for o in during.orders]
    assert codes == [202] * len(codes), f"checkout refused orders while Kafka was down: {codes}"
    waiting = query(
        cluster.admin_url,
        "SELECT count(*) AS n FROM checkout.outbox_pending",
    )[0]["n"]
    assert waiting > 0, "orders accepted during the outage should wait in the outbox"

    cluster.up()  # the broker again (services are untouched: they kept running)
    time.sleep(15)
    cluster.kafka_signal(signal.SIGKILL)
    time.sleep(5)
    assert _all_answer_healthz(cluster) == []
    cluster.up()
    accepted = load.join(timeout=120)
    assert all(cluster.alive(s) for s in SERVICES), "a service died during the outage"

    report = cluster.settle(timeout=240)
    assert_verified(report)
    placed = accepted + during.accepted
    terminal = query(
        cluster.admin_url,
        "SELECT count(*) AS n FROM orders.sagas WHERE order_id = ANY($1::text[])",
        placed,
    )[0]["n"]
    assert terminal == len(placed)
