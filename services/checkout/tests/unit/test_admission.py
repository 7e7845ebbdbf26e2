"""Admission decisions from the sampled backlogs and the requests in flight."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from checkout.entrypoints.admission import Admission, Backlog, Bounds

BOUNDS = Bounds(max_outbox=10, max_coordinator_lag=20, max_in_flight=2, retry_after_s=1)


def sampler(*backlogs: Backlog | Exception) -> Callable[[], Awaitable[Backlog]]:
    queue = list(backlogs)

    async def sample() -> Backlog:
        item = queue.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    return sample


async def test_under_every_bound_it_admits() -> None:
    admission = Admission(BOUNDS, sampler(Backlog(10, 20)))
    await admission.tick()
    assert admission.refusal() is None


@pytest.mark.parametrize(
    ("backlog", "reason"),
    [
        (Backlog(11, 0), "11 placed orders wait to be published (bound 10)"),
        (Backlog(0, 21), "21 placed orders wait for the saga coordinator (bound 20)"),
    ],
)
async def test_over_a_backlog_bound_it_refuses_with_the_reason(
    backlog: Backlog, reason: str
) -> None:
    admission = Admission(BOUNDS, sampler(backlog))
    await admission.tick()
    refusal = admission.refusal()
    assert refusal is not None
    assert reason in refusal


def test_too_many_requests_in_flight_are_refused_until_one_finishes() -> None:
    admission = Admission(BOUNDS, sampler())
    with admission.placing():
        assert admission.refusal() is None
        with admission.placing():
            assert admission.refusal() == "overloaded: 2 orders are being placed (bound 2)"
        assert admission.refusal() is None


async def test_a_failed_sample_keeps_the_last_one() -> None:
    admission = Admission(BOUNDS, sampler(Backlog(50, 0), ConnectionError("broker away")))
    await admission.tick()
    await admission.tick()
    assert admission.refusal() is not None
