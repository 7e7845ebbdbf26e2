"""Deadlines that count only the time in which a participant could have answered.

Past the sustained rate, commands queue in front of a participant (its consumer lag on
its command topic) and replies queue in front of the coordinator (our own lag on the
participant's reply topic, and our outbox's unpublished rows). A deadline measured in
wall-clock time would then fire for work that is merely queued, and the saga would
resend and compensate orders that were about to complete. So a participant is *held*
while work for or from it is queued and it is still making progress, and a step's
deadline counts only the time in which its participant was not held. A participant that
is really silent is never held: one that is down or stuck does not move its committed
offsets (its queue is stalled, not busy), and one that consumes without answering has
no queue at all; its steps time out as before.

``HoldClock`` keeps, per participant, the intervals in which it was held (in memory:
after a restart the coordinator counts from its first sample). Its ``cut`` turns that
into one bound per participant for the sweeper's query: a step is due when its
deadline is at or before the cut, i.e. when at least a step timeout of unheld time has
passed since the step began.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import structlog

from orderflow_messaging.clock import Clock
from orders import metrics
from orders.saga.state import Step

log = structlog.get_logger(__name__)

# Who answers each step: the participant whose queues decide whether it is held.
PARTICIPANT_OF: Mapping[Step, str] = {
    Step.REDEEM_PROMOTIONS: "promotions",
    Step.RELEASE_PROMOTIONS: "promotions",
    Step.RESERVE_STOCK: "inventory",
    Step.COMMIT_STOCK: "inventory",
    Step.RELEASE_STOCK: "inventory",
    Step.AUTHORIZE_PAYMENT: "payment",
    Step.CAPTURE_PAYMENT: "payment",
    Step.VOID_PAYMENT: "payment",
    Step.REFUND_PAYMENT: "payment",
    Step.CREATE_SHIPMENT: "shipping",
    Step.CANCEL_SHIPMENT: "shipping",
}
PARTICIPANTS = tuple(sorted(set(PARTICIPANT_OF.values())))


def steps_of(participant: str) -> list[Step]:
    return [step for step, who in PARTICIPANT_OF.items() if who == participant]


@dataclass(frozen=True)
class QueueSample:
    """One partition of a queue: records not yet committed by its consumer group, and
    how long ago that group last moved its committed offset there."""

    lag: int
    idle_s: float


def held(queues: Sequence[Sequence[QueueSample]], *, max_lag: int, stall_s: float) -> bool:
    """Whether work for or from a participant is queued and moving: some queue (a topic's
    partitions, for one consumer group) holds more than ``max_lag`` records, and none of
    its partitions with records waiting has stood still for ``stall_s`` (a stalled queue
    means its consumer is down or stuck: no hold, the deadline runs)."""
    for partitions in queues:
        waiting = [p for p in partitions if p.lag > 0]
        if sum(p.lag for p in waiting) <= max_lag:
            continue
        if all(p.idle_s < stall_s for p in waiting):
            return True
    return False


@dataclass
class HoldClock:
    """Held intervals per participant, and the sweeper's cut per step."""

    step_timeout: timedelta
    _intervals: dict[str, list[list[datetime | None]]] = field(default_factory=dict)

    def observe(self, participant: str, is_held: bool, now: datetime) -> None:
        """Record the participant's state at ``now`` (called every sample)."""
        intervals = self._intervals.setdefault(participant, [])
        open_interval = bool(intervals) and intervals[-1][1] is None
        if is_held and not open_interval:
            intervals.append([now, None])
        elif not is_held and open_interval:
            intervals[-1][1] = now

    def is_held(self, participant: str) -> bool:
        intervals = self._intervals.get(participant, [])
        return bool(intervals) and intervals[-1][1] is None

    def cut(self, participant: str, now: datetime) -> datetime:
        """The latest deadline that is due at ``now``: a step began at ``deadline -
        step_timeout``, and is due once the unheld time since then reaches the step
        timeout. Never held: ``now``. Intervals too old to matter are dropped."""
        intervals = self._intervals.get(participant, [])
        needed = self.step_timeout
        cursor = now
        kept_from = len(intervals)
        for index in range(len(intervals) - 1, -1, -1):
            start, end = intervals[index]
            assert start is not None
            end = end or now
            gap = cursor - end
            if gap >= needed:
                break  # enough unheld time after this interval
            needed -= gap
            cursor = start
            kept_from = index
        start_of_step = cursor - needed
        del intervals[:kept_from]
        return start_of_step + self.step_timeout

    def cuts(self, now: datetime) -> dict[Step, datetime]:
        """The cut of every step (its participant's)."""
        by_participant = {p: self.cut(p, now) for p in PARTICIPANTS}
        return {step: by_participant[who] for step, who in PARTICIPANT_OF.items()}


# The queues of every participant, sampled (adapters/backlog.py in production).
Sample = Callable[[], Awaitable[Mapping[str, Sequence[Sequence[QueueSample]]]]]


@dataclass
class DeadlineHolds:
    """Samples the queues and keeps the hold clock (the ``deadline-holds`` task)."""

    clock: HoldClock
    sample: Sample
    now: Clock
    max_lag: int
    stall_s: float

    async def tick(self) -> bool:
        """One sample. When it fails (the broker is away), no participant is held: the
        deadlines run on the wall clock, as they would without holds."""
        try:
            queues = await self.sample()
        except Exception as exc:
            log.warning("deadline_hold_sample_failed", error=repr(exc))
            queues = {}
        now = self.now()
        for participant in PARTICIPANTS:
            was_held = self.clock.is_held(participant)
            is_held = held(queues.get(participant, ()), max_lag=self.max_lag, stall_s=self.stall_s)
            self.clock.observe(participant, is_held, now)
            metrics.DEADLINE_HOLD.labels(participant).set(1 if is_held else 0)
            if is_held != was_held:
                log.info("deadline_hold", participant=participant, held=is_held)
        return False
