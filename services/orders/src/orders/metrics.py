"""The coordinator's own Prometheus metrics (beside orderflow_messaging's)."""

from __future__ import annotations

from prometheus_client import Gauge

DEADLINE_HOLD = Gauge(
    "orderflow_saga_deadline_hold",
    "1 while a participant's step deadlines are held (work for or from it is queued and "
    "moving: its time does not count against the step timeout), else 0.",
    ["participant"],
)
