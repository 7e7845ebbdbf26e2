"""Replay of every topic from offset 0 to every consumer: no new charge, reservation or
shipment, and the rebuilt order-history projection equals the live one."""

from __future__ import annotations

import json

import pytest

from orderflow_testing.chaos import SERVICES, Cluster
from orderflow_testing.chaos_faults import rewind_every_group_to_start, stable_effects
from orderflow_testing.chaos_load import place_orders

from .conftest import assert_verified

pytestmark = [pytest.mark.chaos, pytest.mark.timeout(600)]


def test_replay_of_every_topic_from_zero_changes_no_effect(cluster: Cluster) -> None:
    assert len(place_orders(cluster.url("checkout"), 60, rate=10.0, seed=71)) == 60
    assert_verified(cluster.settle(timeout=150))
    before = stable_effects(cluster.admin_url, timeout=60.0)

    for service in SERVICES:
        cluster.terminate(service)
    rewound = rewind_every_group_to_start(cluster.bootstrap)
    for group in ("checkout", "orders", "inventory", "payment", "shipping", "history"):
        assert rewound.get(group, 0) > 0, f"group {group} was not rewound: {rewound}"
    cluster.up()

    assert_verified(cluster.settle(timeout=300))
    after = stable_effects(cluster.admin_url, timeout=60.0)
    for table in before:
        assert after[table] == before[table], f"{table} changed when history was replayed"
    compared = json.loads(
        cluster.cli("replay", "projection", "order-history", "--compare", "--json", timeout=300)
    )
    assert compared["compare"]["differences"] == 0, compared["compare"]
