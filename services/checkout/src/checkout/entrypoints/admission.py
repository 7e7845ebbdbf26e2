"""Admission control at the HTTP door: past capacity, ``POST /orders`` answers 503 with
``Retry-After`` and a reason instead of taking orders it cannot work off in time.

An order accepted over HTTP costs the whole saga's work downstream. When the system is
past its capacity the backlog shows up in three places checkout can see: its own outbox
(OrderPlaced rows not published yet), the coordinator's consumer lag on
``checkout.events`` (orders published, not started), and the requests waiting in this
process. Over any bound, a new order is refused at once, with the reason, and the client
retries after ``Retry-After`` seconds with the same Idempotency-Key; nothing accepted is
ever refused afterwards, and nothing refused was stored. The Kafka door (orders.inbound)
needs none of this: its backlog is the broker's and is simply worked off.

The two backlogs are sampled every ``admission_sample_interval_s``; the requests in
flight are counted as they come and go.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass

import structlog

from orderflow_contracts import topics
from orderflow_messaging.db import Connection
from orderflow_messaging.lag import ConsumerLag
from orderflow_messaging.outbox import outbox_backlog

log = structlog.get_logger(__name__)

COORDINATOR_GROUP = "orders"


@dataclass(frozen=True)
class Backlog:
    outbox: int
    coordinator_lag: int


@dataclass(frozen=True)
class Bounds:
    max_outbox: int
    max_coordinator_lag: int
    max_in_flight: int
    retry_after_s: int


class Admission:
    """Whether ``POST /orders`` takes a new order now, and why not."""

    def __init__(self, bounds: Bounds, sample: Callable[[], Awaitable[Backlog]]) -> None:
        self.bounds = bounds
        self._sample = sample
        self._backlog = Backlog(0, 0)
        self._in_flight = 0

    def refusal(self) -> str | None:
        """The reason a new order is refused now, or None."""
        b, backlog = self.bounds, self._backlog
        if self._in_flight >= b.max_in_flight:
            return (
                f"overloaded: {self._in_flight} orders are being placed (bound {b.max_in_flight})"
            )
        if backlog.outbox > b.max_outbox:
            return (
                f"overloaded: {backlog.outbox} placed orders wait to be published "
                f"(bound {b.max_outbox})"
            )
        if backlog.coordinator_lag > b.max_coordinator_lag:
            return (
                f"overloaded: {backlog.coordinator_lag} placed orders wait for the saga "
                f"coordinator (bound {b.max_coordinator_lag})"
            )
        return None

    @contextlib.contextmanager
    def placing(self) -> Iterator[None]:
        """Count a request in flight while it is being placed."""
        self._in_flight += 1
        try:
            yield
        finally:
            self._in_flight -= 1

    async def tick(self) -> bool:
        """Sample the backlogs. When sampling fails, the last sample stands (a failing
        broker or database shows up in the requests themselves)."""
        was = self.refusal()
        try:
            self._backlog = await self._sample()
        except Exception as exc:
            log.warning("admission_sample_failed", error=repr(exc))
        now = self.refusal()
        if (was is None) != (now is None):
            log.warning("admission_refusing" if now else "admission_admitting", reason=now)
        return False


class BacklogReader:
    """Checkout's outbox and the coordinator's lag on checkout.events."""

    def __init__(
        self,
        lag: ConsumerLag,
        group: str = COORDINATOR_GROUP,
        topic: str = topics.CHECKOUT_EVENTS,
    ) -> None:
        self._lag = lag
        self._group = group
        self._topic = topic

    async def read(self, conn: Connection) -> Backlog:
        outbox = (await outbox_backlog(conn)).rows
        try:
            lag = await self._lag.total(self._group, [self._topic])
        except Exception:
            await self._lag.close()  # start afresh next time
            raise
        return Backlog(outbox=outbox, coordinator_lag=lag)
