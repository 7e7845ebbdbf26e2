"""Scenario f: 20% of the commands re-sent, and a consumer group rewound 200 offsets:
the effects (gateway ledger, stock, shipments) are unchanged; the inboxes count the
duplicates they absorbed."""

from __future__ import annotations

import pytest

from orderflow_testing.chaos import Cluster
from orderflow_testing.chaos_faults import (
    duplicate_records,
    inbox_duplicates,
    rewind_group,
    stable_effects,
)
from orderflow_testing.chaos_load import place_orders

from .conftest import assert_verified

pytestmark = [pytest.mark.chaos, pytest.mark.chaos_fast, pytest.mark.timeout(360)]


def test_duplicates_and_rewind_change_no_effect(cluster: Cluster) -> None:
    placed = place_orders(cluster.url("checkout"), 60, rate=10.0, seed=41)
    assert len(placed) == 60
    assert_verified(cluster.settle(timeout=120))
    before = stable_effects(cluster.admin_url)
    dups_before = inbox_duplicates(cluster.admin_url, "payment", "inventory")

    sent = duplicate_records(cluster.bootstrap, "payment.commands", fraction=0.2, copies=(1, 5))
    sent += duplicate_records(cluster.bootstrap, "inventory.commands", fraction=0.2, copies=(1, 5))
    assert sent > 0
    cluster.terminate("payment")
    moved = rewind_group(cluster.bootstrap, "payment", "payment.commands", by=200)
    assert any(old > new for old, new in moved.values()), moved
    cluster.start_service("payment")

    assert_verified(cluster.settle(timeout=150))
    after = stable_effects(cluster.admin_url)
    for table in before:
        assert after[table] == before[table], f"{table} changed under duplicates"
    replayed = sum(old - new for old, new in moved.values())
    assert inbox_duplicates(cluster.admin_url, "payment", "inventory") >= dups_before + replayed
