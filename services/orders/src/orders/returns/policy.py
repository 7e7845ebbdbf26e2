"""The return policy (docs/returns.md) and the checks of a request. Pure.

A request names SKUs of the order and quantities. What no policy could accept is an
invalid request (``InvalidRequest``: the caller gets a 422 with every field and reason):
a SKU the order does not have, more units than the order has left to return (ordered,
less every return not rejected or cancelled). What the policy decides is the answer to
a valid request: approved, or rejected with every reason:
  - only a completed order that was delivered can be returned;
  - within ``window`` of its delivery (30 days unless configured);
  - every SKU must be returnable (``non_returnable``: SKU prefixes, e.g. socks).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from orders.returns.state import ReturnCase, ReturnLine
from orders.saga.state import OrderLine, Saga, SagaStatus


@dataclass(frozen=True)
class ReturnPolicy:
    window: timedelta = timedelta(days=30)
    # How long after its label a return's parcel may take to arrive; then it expires.
    receive_within: timedelta = timedelta(days=14)
    non_returnable: tuple[str, ...] = ("SOCKS-",)
    # A return's step (label, refund, restock, label cancel): timeout and resends.
    step_timeout: timedelta = timedelta(seconds=10)
    step_retries: int = 5


@dataclass(frozen=True)
class Problem:
    field: str
    reason: str


class InvalidRequest(Exception):
    def __init__(self, problems: Sequence[Problem]) -> None:
        super().__init__("; ".join(f"{p.field}: {p.reason}" for p in problems))
        self.problems = list(problems)


@dataclass(frozen=True)
class Assessment:
    lines: tuple[ReturnLine, ...]
    refusals: list[str] = field(default_factory=list)

    @property
    def approved(self) -> bool:
        return not self.refusals


def returned_so_far(earlier: Sequence[ReturnCase]) -> dict[int, int]:
    """Units per order line (by position) that returns still open or done hold."""
    held: dict[int, int] = {}
    for case in earlier:
        for line, units in case.held():
            held[line.line_no] = held.get(line.line_no, 0) + units
    return held


def assess(
    saga: Saga,
    delivered_at: datetime | None,
    earlier: Sequence[ReturnCase],
    requested: Mapping[str, int],
    now: datetime,
    policy: ReturnPolicy,
) -> Assessment:
    """InvalidRequest, or the lines to return and the policy's refusals (none: approved)."""
    lines = _allocate(saga.order.lines, returned_so_far(earlier), requested)
    refusals = []
    if saga.status is not SagaStatus.COMPLETED:
        refusals.append(f"the order is {saga.status.value.lower()}: only a completed order")
    elif delivered_at is None:
        refusals.append("the order has not been delivered yet")
    elif now > delivered_at + policy.window:
        ended = (delivered_at + policy.window).date().isoformat()
        refusals.append(f"the return window of {policy.window.days} days ended on {ended}")
    for sku in sorted(requested):
        if sku.startswith(policy.non_returnable):
            refusals.append(f"{sku} cannot be returned")
    return Assessment(lines, refusals)


def _allocate(
    order_lines: Sequence[OrderLine], held: Mapping[int, int], requested: Mapping[str, int]
) -> tuple[ReturnLine, ...]:
    """Requested units to the order's lines of each SKU, in order (a SKU on two lines
    fills the first before the second)."""
    problems = []
    lines: list[ReturnLine] = []
    for sku, wanted in requested.items():
        positions = [n for n, line in enumerate(order_lines) if line.sku == sku]
        if not positions:
            problems.append(Problem(f"lines.{sku}", "not on the order"))
            continue
        left = {n: order_lines[n].quantity - held.get(n, 0) for n in positions}
        if wanted > sum(left.values()):
            problems.append(
                Problem(f"lines.{sku}", f"{wanted} asked, {sum(left.values())} left to return")
            )
            continue
        for n in positions:
            take = min(wanted, left[n])
            if take > 0:
                lines.append(_return_line(n, order_lines[n], take))
                wanted -= take
    if problems:
        raise InvalidRequest(problems)
    return tuple(lines)


def _return_line(n: int, line: OrderLine, units: int) -> ReturnLine:
    return ReturnLine(
        line.sku, units, line.unit_price_minor, line.quantity, line.discount_minor,
        line.components, line_no=n,
    )  # fmt: skip
