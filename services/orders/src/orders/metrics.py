"""The coordinator's own Prometheus metrics (beside orderflow_messaging's)."""

from __future__ import annotations

from datetime import datetime

from prometheus_client import Counter, Gauge, Histogram

from orders.saga.policy import SagaPolicy
from orders.saga.state import Saga, SagaStatus

DEADLINE_HOLD = Gauge(
    "orderflow_saga_deadline_hold",
    "1 while a participant's step deadlines are held (work for or from it is queued and "
    "moving: its time does not count against the step timeout), else 0.",
    ["participant"],
)
STEP_SECONDS = Histogram(
    "orderflow_saga_step_seconds",
    "Time from a step's command to the reply that settled it, per step.",
    ["step"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
COMPENSATIONS = Counter("orderflow_saga_compensations_total", "Sagas that started compensating.")
COMPENSATION_FAILURES = Counter(
    "orderflow_saga_compensation_failures_total",
    "Sagas that ended COMPENSATION_FAILED (money or goods need a human).",
)
SAGAS = Gauge("orderflow_sagas", "Sagas per status (sampled).", ["status"])
RETURNS = Gauge("orderflow_returns", "Returns (RMA) per status (sampled).", ["status"])
RETURN_FAILURES = Counter(
    "orderflow_return_failures_total",
    "Returns that ended failed: a refund, restock or label cancel out of retries (a "
    "person settles it).",
)
PAST_DEADLINE = Gauge(
    "orderflow_sagas_past_deadline",
    "Running or compensating sagas whose step deadline has passed (sampled; a held "
    "participant's steps count here until they fire).",
)

SAGA_CACHE = Counter(
    "orderflow_saga_cache_lookups_total",
    "Sagas an optimistic batch looked up in the coordinator's cache of live sagas: "
    "found (hit: no load) or loaded from the table (miss).",
    ["result"],
)
_CACHE_HITS = SAGA_CACHE.labels("hit")
_CACHE_MISSES = SAGA_CACHE.labels("miss")


def observe_saga_cache(*, hits: int, misses: int) -> None:
    if hits:
        _CACHE_HITS.inc(hits)
    if misses:
        _CACHE_MISSES.inc(misses)


def observe_reply(saga: Saga, now: datetime, policy: SagaPolicy) -> None:
    """A reply for ``saga``'s current step arrived: how long since the step began (its
    deadline minus one step timeout; after a resend, since the resend)."""
    if saga.step is not None and saga.deadline is not None:
        began = saga.deadline - policy.step_timeout
        STEP_SECONDS.labels(saga.step.value).observe(max(0.0, (now - began).total_seconds()))


def observe_transition(before: SagaStatus | None, after: SagaStatus) -> None:
    if after is before:
        return
    if after is SagaStatus.COMPENSATING:
        COMPENSATIONS.inc()
    elif after is SagaStatus.COMPENSATION_FAILED:
        COMPENSATION_FAILURES.inc()
