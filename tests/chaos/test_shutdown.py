"""SIGTERM while a handler is slower than the shutdown grace: the process still stops
within its bound, and the record being handled keeps its offset uncommitted (the known
failure: a consumer that acks on shutdown loses the message it was working on)."""

from __future__ import annotations

import signal
import time

import pytest

from orderflow_testing.chaos import Cluster
from orderflow_testing.chaos_load import Load

from .conftest import assert_verified

pytestmark = [pytest.mark.chaos, pytest.mark.chaos_fast, pytest.mark.timeout(300)]

# Far longer than the shutdown grace (lifecycle_timeout_s = 20 s per stage).
HANDLER_STALL_S = "300"


def _wait_for_log(cluster: Cluster, service: str, needle: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while needle not in cluster.log(service).read_text(errors="replace")[-50_000:]:
        assert time.monotonic() < deadline, f"{service} never logged {needle!r}"
        time.sleep(0.2)


def test_sigterm_during_slow_handler_commits_no_unfinished_offset(cluster: Cluster) -> None:
    cluster.terminate("inventory")
    cluster.start_service(
        "inventory", {"ORDERFLOW_FAULT_DELAYS": f"consumer.handle={HANDLER_STALL_S}"}
    )
    load = Load(cluster.url("checkout"), count=4, rate=4.0, seed=23).start()
    _wait_for_log(cluster, "inventory", "fault_delay", timeout=60)

    cluster.send_signal("inventory", signal.SIGTERM)
    code = cluster.exit_code("inventory", timeout=90)
    assert code is not None, "inventory did not stop within 90 s of SIGTERM"

    # verify's record-by-record check: every record below a group's committed offset
    # has an inbox row of its consumer (the rest of the report waits for the restart).
    accounting = cluster.verify()["checks"]["dlq_accounting"]["violations"]
    unfinished = [v for v in accounting if "committed past" in v]
    assert unfinished == [], f"offsets committed for work never done: {unfinished}"

    cluster.start_service("inventory")
    assert load.join(timeout=120)
    assert_verified(cluster.settle(timeout=150))
