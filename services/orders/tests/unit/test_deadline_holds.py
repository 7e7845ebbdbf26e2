"""Deadlines count only time in which the participant could have answered."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from orders.application.deadline_holds import (
    PARTICIPANT_OF,
    DeadlineHolds,
    HoldClock,
    QueueSample,
    held,
)
from orders.saga.state import Step

T0 = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
TIMEOUT = timedelta(seconds=10)


def s(seconds: float) -> timedelta:
    return timedelta(seconds=seconds)


def busy(lag: int, idle_s: float = 0.0) -> list[QueueSample]:
    return [QueueSample(lag=lag, idle_s=idle_s)]


# -- held: queued and moving ------------------------------------------------------


def test_no_queue_is_no_hold() -> None:
    assert not held([busy(0), busy(0)], max_lag=200, stall_s=5)


def test_a_queue_over_the_bound_that_moves_holds() -> None:
    assert held([busy(0), busy(500, idle_s=0.5)], max_lag=200, stall_s=5)


def test_a_queue_at_the_bound_does_not_hold() -> None:
    assert not held([busy(200)], max_lag=200, stall_s=5)


def test_a_stalled_queue_does_not_hold_its_consumer_is_down_or_stuck() -> None:
    assert not held([busy(500, idle_s=6.0)], max_lag=200, stall_s=5)


def test_one_stalled_partition_with_records_waiting_stops_the_hold() -> None:
    partitions = [QueueSample(300, 0.1), QueueSample(10, 30.0), QueueSample(0, 99.0)]
    assert not held([partitions], max_lag=200, stall_s=5)
    # an idle partition with nothing waiting is not stalled
    assert held([[QueueSample(300, 0.1), QueueSample(0, 99.0)]], max_lag=200, stall_s=5)


# -- the hold clock ---------------------------------------------------------------


def test_never_held_the_cut_is_now() -> None:
    clock = HoldClock(TIMEOUT)
    assert clock.cut("payment", T0) == T0


def test_held_time_does_not_count() -> None:
    clock = HoldClock(TIMEOUT)
    clock.observe("payment", True, T0)
    now = T0 + s(30)
    # Still held: only steps whose whole timeout ran before the hold are due.
    assert clock.cut("payment", now) == T0
    clock.observe("payment", False, now)
    # 4 s after the hold: a step needs 6 s more from before it.
    assert clock.cut("payment", now + s(4)) == T0 + s(4)
    # A timeout after the hold: wall clock again.
    assert clock.cut("payment", now + s(15)) == now + s(15)


def test_a_step_is_due_after_a_timeout_of_unheld_time() -> None:
    clock = HoldClock(TIMEOUT)
    begun = T0
    deadline = begun + TIMEOUT
    clock.observe("payment", True, T0 + s(4))  # 4 s counted, then held 20 s
    clock.observe("payment", False, T0 + s(24))
    assert clock.cut("payment", T0 + s(29)) < deadline  # 9 s counted: not due
    assert clock.cut("payment", T0 + s(30)) == deadline  # 10 s counted: due
    assert clock.cut("payment", T0 + s(31)) > deadline


def test_several_holds_add_up() -> None:
    clock = HoldClock(TIMEOUT)
    for start, end in ((2, 5), (7, 17), (20, 21)):
        clock.observe("inventory", True, T0 + s(start))
        clock.observe("inventory", False, T0 + s(end))
    # unheld since T0: 2 + 2 + 3 + ... -> 10 s reached at T0 + 24
    assert clock.cut("inventory", T0 + s(24)) == T0 + TIMEOUT
    assert clock.cut("payment", T0 + s(24)) == T0 + s(24)  # others unaffected


def test_old_holds_are_forgotten_once_they_cannot_matter() -> None:
    clock = HoldClock(TIMEOUT)
    clock.observe("shipping", True, T0)
    clock.observe("shipping", False, T0 + s(5))
    assert clock.cut("shipping", T0 + s(100)) == T0 + s(100)
    assert clock._intervals["shipping"] == []


def test_cuts_cover_every_step_by_its_participant() -> None:
    clock = HoldClock(TIMEOUT)
    clock.observe("payment", True, T0)
    cuts = clock.cuts(T0 + s(60))
    assert set(cuts) == set(PARTICIPANT_OF)
    assert cuts[Step.AUTHORIZE_PAYMENT] == cuts[Step.REFUND_PAYMENT] == T0
    assert cuts[Step.RESERVE_STOCK] == T0 + s(60)


# -- the sampling task -----------------------------------------------------------


async def test_the_task_holds_a_busy_participant_and_releases_it() -> None:
    samples = [
        {"payment": [busy(0), busy(900)]},
        {"payment": [busy(0), busy(10)]},
    ]
    times = iter([T0, T0 + s(20)])

    async def sample() -> dict[str, list[list[QueueSample]]]:
        return samples.pop(0)

    holds = DeadlineHolds(HoldClock(TIMEOUT), sample, lambda: next(times), max_lag=200, stall_s=5)
    await holds.tick()
    assert holds.clock.is_held("payment")
    assert not holds.clock.is_held("inventory")
    await holds.tick()
    assert not holds.clock.is_held("payment")
    assert holds.clock.cut("payment", T0 + s(20)) == T0


async def test_a_failed_sample_holds_nobody() -> None:
    async def broken() -> dict[str, list[list[QueueSample]]]:
        raise ConnectionError("broker away")

    holds = DeadlineHolds(HoldClock(TIMEOUT), broken, lambda: T0, max_lag=200, stall_s=5)
    holds.clock.observe("payment", True, T0 - s(5))
    await holds.tick()
    assert not holds.clock.is_held("payment")
