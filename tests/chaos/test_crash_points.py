"""Scenario c: a service crashes (exit 86, like kill -9) at a named crash point;
restarted without it, the system settles with every invariant intact."""

from __future__ import annotations

import pytest

from orderflow_testing.chaos import CRASH_EXIT_CODE, Cluster
from orderflow_testing.chaos_load import Load

from .conftest import assert_verified

pytestmark = [pytest.mark.chaos, pytest.mark.timeout(300)]

# (service, crash point, payment token of the orders that drive it there). Every step's
# consumer crashes after its inbox insert before the commit, and after the commit before
# the offset commit; for `orders` the latter is "after a saga transition committed".
CASES = [
    ("checkout", "relay.after_publish", "tok_ok"),  # OrderPlaced published, not marked
    ("orders", "relay.after_publish", "tok_ok"),  # a command published, not marked
    *(
        (service, point, "tok_ok")
        for service in ("inventory", "payment", "shipping", "orders")
        for point in ("consumer.before_commit", "consumer.after_commit")
    ),
    ("payment", "payment.before_gateway", "tok_ok"),  # pending key stored, no call yet
    ("payment", "payment.after_gateway", "tok_ok"),  # charged, the outcome not yet saved
    ("payment", "payment.after_invoice", "tok_ok"),  # invoice numbered, not committed
    ("orders", "orders.after_timer_claim", "tok_timeout"),  # only a deadline gets claimed
]


@pytest.mark.parametrize(
    ("service", "point", "token"), CASES, ids=[f"{s}-{p}" for s, p, _ in CASES]
)
def test_crash_point_then_restart(cluster: Cluster, service: str, point: str, token: str) -> None:
    cluster.terminate(service)
    cluster.start_service(service, {"ORDERFLOW_CRASH_POINTS": point})
    load = Load(
        cluster.url("checkout"), count=5, rate=5.0, mix=((1, token, "10115"),), seed=3, attempts=14
    )
    # checkout itself may crash while answering: its retries with the same key land
    # after the restart below, so place in the background.
    load.start()
    code = cluster.exit_code(service, timeout=60)
    assert code == CRASH_EXIT_CODE, f"{service} did not crash at {point} (exit {code})"
    assert "crash point" in cluster.log(service).read_text(errors="replace")[-20000:]
    cluster.start_service(service)
    accepted = load.join(timeout=90)
    assert accepted, [o.error for o in load.orders]

    report = cluster.settle(timeout=120)
    assert_verified(report)
