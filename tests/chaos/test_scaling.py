"""Rolling restarts, scaling 1 -> 3 -> 1 and a rebalance storm, all under load: lag
returns to 0, no consumer is stuck, nothing is lost and no effect is applied twice
(`orderflow verify` checks all of it after settling)."""

from __future__ import annotations

import random
import signal
import time

import pytest

from orderflow_testing.chaos import SERVICES, Cluster
from orderflow_testing.chaos_faults import wait_members
from orderflow_testing.chaos_load import Load

from .conftest import assert_verified

pytestmark = [pytest.mark.chaos, pytest.mark.timeout(600)]

# The services that consume, and so rebalance, with the group each one joins.
CONSUMERS = ("inventory", "payment", "shipping", "orders")


def test_rolling_restart_of_every_service_under_load(cluster: Cluster) -> None:
    load = Load(cluster.url("checkout"), count=150, rate=4.0, seed=51, attempts=20).start()
    for service in SERVICES:
        cluster.restart(service)  # SIGTERM, bounded; then start and wait until ready
        time.sleep(2.0)
    accepted = load.join(timeout=180)
    assert len(accepted) == 150, [o.error for o in load.orders if not o.order_id][:5]
    assert_verified(cluster.settle(timeout=180))


@pytest.mark.parametrize("service", ["payment", "inventory"])
def test_scale_one_to_three_to_one_under_load(cluster: Cluster, service: str) -> None:
    load = Load(cluster.url("checkout"), count=150, rate=6.0, seed=53).start()
    extra = [cluster.start_service(service, instance=n) for n in (2, 3)]
    wait_members(cluster.bootstrap, service, 3)
    time.sleep(8.0)  # all three consume for a while
    for name in extra:
        cluster.terminate(name)
    wait_members(cluster.bootstrap, service, 1)
    accepted = load.join(timeout=180)
    assert len(accepted) == 150
    assert_verified(cluster.settle(timeout=180))


def test_rebalance_storm(cluster: Cluster) -> None:
    """For ~2 minutes, every 3-6 s an extra consumer joins or leaves (half of the leaves
    are kill -9) a random service's group, while orders flow."""
    rng = random.Random(61)
    load = Load(cluster.url("checkout"), count=600, rate=5.0, seed=59).start()
    running: list[str] = []
    changes = 0
    deadline = time.monotonic() + 120.0
    while time.monotonic() < deadline:
        if running and (len(running) >= 4 or rng.random() < 0.5):
            name = running.pop(rng.randrange(len(running)))
            if rng.random() < 0.5:
                cluster.kill(name)
            else:
                cluster.send_signal(name, signal.SIGTERM)  # graceful; not waited for
        else:
            service = rng.choice(CONSUMERS)
            taken = set(cluster.instances(service)) | set(running)
            instance = next(n for n in range(2, 9) if f"{service}-{n}" not in taken)
            running.append(cluster.start_service(service, instance=instance, wait_ready=False))
        changes += 1
        time.sleep(rng.uniform(3.0, 6.0))
    cluster.stop_extra_instances()
    accepted = load.join(timeout=180)
    assert changes >= 20
    assert len(accepted) == len(load.orders)
    for service in CONSUMERS:
        wait_members(cluster.bootstrap, service, 1)
    assert_verified(cluster.settle(timeout=240))
