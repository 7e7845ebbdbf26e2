"""A consumer frozen (SIGSTOP) past its session timeout: the group hands its partitions
to another instance, which redoes whatever the frozen one had not committed; when the
frozen one wakes up, its late offset commit fails cleanly, it rejoins, and the inbox
absorbs the duplicate work."""

from __future__ import annotations

import time

import pytest

from orderflow_testing.chaos import Cluster
from orderflow_testing.chaos_faults import wait_members
from orderflow_testing.chaos_load import Load

from .conftest import assert_verified

pytestmark = [pytest.mark.chaos, pytest.mark.timeout(360)]

SESSION_TIMEOUT_S = 10.0  # ConsumerSettings.session_timeout_ms default


def test_frozen_past_session_timeout_then_woken(cluster: Cluster) -> None:
    second = cluster.start_service("payment", instance=2)
    wait_members(cluster.bootstrap, "payment", 2, timeout=60)
    load = Load(cluster.url("checkout"), count=120, rate=6.0, seed=31).start()
    time.sleep(5.0)

    cluster.freeze("payment")
    time.sleep(SESSION_TIMEOUT_S + 12.0)
    wait_members(cluster.bootstrap, "payment", 1, timeout=30)  # the group moved on without it
    cluster.cont("payment")

    assert cluster.alive("payment"), "the woken consumer died"
    wait_members(cluster.bootstrap, "payment", 2, timeout=90)  # ... and rejoined
    accepted = load.join(timeout=120)
    assert len(accepted) == 120
    assert_verified(cluster.settle(timeout=180))
    assert cluster.alive("payment")
    assert cluster.alive(second)
