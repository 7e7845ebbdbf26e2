"""The pure core of `orderflow shadow saga`: re-run one order's recorded saga inputs
through transition functions and compare the result with the live saga.

Nothing here does I/O: the history rows, the messages they name and the live saga are
passed in (shadow_sources.py reads them), and every command or event a transition
returns is dropped (suppressed), so a replay can neither publish nor write.

Replay of each history row (``orders.saga_history.kind``):
- started: ``start`` with the OrderPlaced found by the row's message id;
- reply: ``on_reply`` with the reply found by the row's message id;
- timeout: ``on_timeout`` at the row's ``at`` (the sweeper's clock);
- cancel: ``on_cancel`` with the reason from the row's note (else the live saga's);
- admin: the matching operator intervention, else the order is not replayable.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from types import ModuleType
from typing import Any
from uuid import UUID

from orderflow_contracts.checkout import OrderPlaced
from orderflow_messaging.registry import Message
from orders.application.saga_service import order_data
from orders.saga import transitions as live_transitions
from orders.saga.policy import SagaPolicy
from orders.saga.state import OrderData, Saga
from orders.saga.transitions import Outcome

FIELDS = ("status", "step", "attempt", "facts", "compensations", "reason")

# History rows are stamped after their transition committed its writes, so a deadline
# rebuilt from the previous row's stamp is late by that transaction's duration; a timeout
# row that lands within this much before the shadow's deadline is the same timeout.
STAMP_SLACK = timedelta(seconds=1)

_CANCEL_NOTE = "compensating: "
_RETRY_NOTE = "operator retry:"
_COMPENSATE_NOTE = "operator compensate: "
_RESTARTED_NOTE = "restarted at "
_RESOLVE_NOTE = "operator resolve: "
_LEFT_UNDONE = " (left undone: "

Start = Callable[[str, OrderData, datetime, SagaPolicy], Outcome]
OnReply = Callable[[Saga, Message, datetime, SagaPolicy], Outcome]
OnTimeout = Callable[[Saga, datetime, SagaPolicy], Outcome]
OnCancel = Callable[[Saga, datetime, SagaPolicy, str], Outcome]
OnRetry = Callable[[Saga, datetime, SagaPolicy], Outcome]
OnForceCompensate = Callable[[Saga, datetime, SagaPolicy, str], Outcome]
OnResolve = Callable[[Saga, datetime, str], Outcome]


class NotReplayable(Exception):
    """The order's recorded inputs cannot be re-run (says why)."""


@dataclass(frozen=True)
class HistoryRow:
    """One ``orders.saga_history`` row: what the saga reacted to, and when."""

    kind: str
    at: datetime
    message_type: str | None = None
    message_id: UUID | None = None
    note: str = ""


@dataclass(frozen=True)
class Transitions:
    """The saga code a shadow replay runs: the live modules unless a test or a developer
    passes a changed one. The operator interventions are optional (None: an ``admin``
    row makes the order not replayable); ``refusals`` are the exceptions with which a
    transition declines (the live service then writes nothing)."""

    start: Start
    on_reply: OnReply
    on_timeout: OnTimeout
    on_cancel: OnCancel
    on_retry: OnRetry | None = None
    on_force_compensate: OnForceCompensate | None = None
    on_resolve: OnResolve | None = None
    refusals: tuple[type[Exception], ...] = (live_transitions.CancelRefused,)

    @classmethod
    def from_modules(cls, *modules: ModuleType | object) -> Transitions:
        """Each function from the first module that defines it."""

        def find(name: str) -> Any:
            return next((getattr(m, name) for m in modules if hasattr(m, name)), None)

        refusals = tuple(
            exc
            for m in modules
            for exc in (getattr(m, "CancelRefused", None), getattr(m, "ActionRefused", None))
            if isinstance(exc, type) and issubclass(exc, Exception)
        )
        start, on_reply, on_timeout, on_cancel = (
            find(name) for name in ("start", "on_reply", "on_timeout", "on_cancel")
        )
        if None in (start, on_reply, on_timeout, on_cancel):
            raise TypeError("start, on_reply, on_timeout and on_cancel are required")
        return cls(
            start=start,
            on_reply=on_reply,
            on_timeout=on_timeout,
            on_cancel=on_cancel,
            on_retry=find("on_retry"),
            on_force_compensate=find("on_force_compensate"),
            on_resolve=find("on_resolve"),
            refusals=refusals or (live_transitions.CancelRefused,),
        )


def current_transitions() -> Transitions:
    """orders.saga.transitions, plus orders.saga.interventions when it exists."""
    modules: list[ModuleType] = [live_transitions]
    try:
        modules.append(importlib.import_module("orders.saga.interventions"))
    except ImportError:
        pass
    return Transitions.from_modules(*modules)


def replay(
    order_id: str,
    rows: Sequence[HistoryRow],
    messages: Mapping[UUID, Message],
    policy: SagaPolicy,
    transitions: Transitions,
    *,
    live_reason: str | None = None,
) -> Saga:
    """The saga the transitions build from the recorded inputs; raises NotReplayable."""
    saga: Saga | None = None
    for row in rows:
        if row.kind == "started":
            if saga is not None:
                raise NotReplayable("the history starts the saga twice")
            placed = _message(row, messages)
            if not isinstance(placed, OrderPlaced):
                raise NotReplayable(f"message {row.message_id} is not an OrderPlaced")
            saga = transitions.start(order_id, order_data(placed), row.at, policy).saga
            continue
        if saga is None:
            raise NotReplayable(f"the history does not begin with the saga's start ({row.kind})")
        try:
            outcome = _transition(saga, row, messages, policy, transitions, live_reason)
        except transitions.refusals:
            continue  # refused live too: nothing was saved then
        if outcome.changed:
            saga = outcome.saga
    if saga is None:
        raise NotReplayable("no history")
    return saga


def _transition(
    saga: Saga,
    row: HistoryRow,
    messages: Mapping[UUID, Message],
    policy: SagaPolicy,
    transitions: Transitions,
    live_reason: str | None,
) -> Outcome:
    if row.kind == "reply":
        return transitions.on_reply(saga, _message(row, messages), row.at, policy)
    if row.kind == "timeout":
        now = row.at
        if saga.deadline is not None and now < saga.deadline <= now + STAMP_SLACK:
            now = saga.deadline
        return transitions.on_timeout(saga, now, policy)
    if row.kind == "cancel":
        reason = _after(row.note, _CANCEL_NOTE) or live_reason or "cancelled by customer"
        return transitions.on_cancel(saga, row.at, policy, reason)
    if row.kind == "admin":
        return _admin(saga, row, policy, transitions)
    raise NotReplayable(f"unknown history row kind {row.kind!r}")


def _admin(saga: Saga, row: HistoryRow, policy: SagaPolicy, transitions: Transitions) -> Outcome:
    note = row.note
    if note.startswith(_RETRY_NOTE) and transitions.on_retry is not None:
        return transitions.on_retry(saga, row.at, policy)
    reason = _after(note, _COMPENSATE_NOTE)
    if reason is not None and transitions.on_force_compensate is not None:
        if reason.startswith(_RESTARTED_NOTE):
            reason = reason.partition(": ")[2]
        return transitions.on_force_compensate(saga, row.at, policy, reason)
    resolved = _after(note, _RESOLVE_NOTE)
    if resolved is not None and transitions.on_resolve is not None:
        if _LEFT_UNDONE in resolved:
            resolved = resolved.rpartition(_LEFT_UNDONE)[0]
        return transitions.on_resolve(saga, row.at, resolved)
    raise NotReplayable(f"no admin transition replays {note!r}")


def _after(note: str, prefix: str) -> str | None:
    return note[len(prefix) :] if note.startswith(prefix) and len(note) > len(prefix) else None


def _message(row: HistoryRow, messages: Mapping[UUID, Message]) -> Message:
    found = messages.get(row.message_id) if row.message_id is not None else None
    if found is None:
        raise NotReplayable(
            f"{row.message_type or 'message'} {row.message_id} not found on the topics"
        )
    return found


def snapshot(saga: Saga) -> dict[str, Any]:
    """The compared part of a saga, as JSON data (the deadline and the version depend on
    when the replay ran, the order data on nothing a transition decides)."""
    return {
        "status": saga.status.value,
        "step": saga.step.value if saga.step else None,
        "attempt": saga.attempt,
        "facts": asdict(saga.facts),
        "compensations": [step.value for step in saga.compensations],
        "reason": saga.reason,
    }


def diff(live: Mapping[str, Any], shadow: Mapping[str, Any]) -> list[str]:
    """The names of the compared fields (FIELDS order) whose values differ."""
    return [name for name in FIELDS if live.get(name) != shadow.get(name)]
