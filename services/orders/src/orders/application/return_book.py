"""The returns a unit of work touches (a consumer batch, a request, a receipt, a timer
round): as loaded, with their versions, and as the transitions leave them, with a
history row per transition. The store writes new and changed returns once each."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import structlog

from orderflow_contracts import topics
from orderflow_messaging.envelope import Envelope
from orderflow_messaging.errors import PermanentFailure
from orderflow_messaging.outbox import BatchOutbox
from orderflow_messaging.registry import Message
from orders import metrics
from orders.returns import transitions
from orders.returns.policy import ReturnPolicy
from orders.returns.state import ReturnCase, ReturnStatus
from orders.returns.transitions import ReturnOutcome

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class ReturnHistoryRow:
    return_id: str
    order_id: str
    at: datetime
    kind: str
    message_type: str | None
    from_status: str | None
    to_status: str
    commands: list[str]
    note: str


def return_id_of(message: Message) -> str | None:
    """The return a reply belongs to (None: the order's saga's)."""
    return getattr(message, "return_id", None)


@dataclass
class ReturnBook:
    cases: dict[str, ReturnCase]
    loaded_versions: dict[str, int] = field(default_factory=dict)
    created: set[str] = field(default_factory=set)
    changed: set[str] = field(default_factory=set)
    history: list[ReturnHistoryRow] = field(default_factory=list)
    # Keys of the new returns (their fingerprint column).
    fingerprints: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.loaded_versions = {r: c.version for r, c in self.cases.items()}

    def open(self, outcome: ReturnOutcome, fingerprint: str, at: datetime) -> ReturnCase:
        case = outcome.case.evolve(version=1)
        self.cases[case.return_id] = case
        self.created.add(case.return_id)
        self.fingerprints[case.return_id] = fingerprint
        self._history(None, outcome, "requested", None, at)
        return case

    def apply_reply(self, message: Message, now: datetime, policy: ReturnPolicy) -> ReturnOutcome:
        return_id = return_id_of(message)
        case = self.cases.get(return_id or "")
        if case is None:
            raise PermanentFailure(f"{message.TYPE} for unknown return {return_id}")
        outcome = transitions.on_reply(case, message, now, policy)
        self.record(case, outcome, "reply", message.TYPE, now)
        return outcome

    def record(
        self,
        before: ReturnCase,
        outcome: ReturnOutcome,
        kind: str,
        message_type: str | None,
        at: datetime,
    ) -> ReturnCase:
        """Keep ``outcome``'s state (a new version when it changed) and its history row."""
        case = outcome.case
        if outcome.changed:
            case = case.evolve(version=self.cases[case.return_id].version + 1)
            self.cases[case.return_id] = case
            if case.return_id not in self.created:
                self.changed.add(case.return_id)
            if case.status is not before.status and case.status.terminal:
                _log_end(case)
        self._history(before.status, outcome, kind, message_type, at)
        return case

    def _history(
        self,
        before: ReturnStatus | None,
        outcome: ReturnOutcome,
        kind: str,
        message_type: str | None,
        at: datetime,
    ) -> None:
        case = outcome.case
        self.history.append(
            ReturnHistoryRow(
                case.return_id,
                case.order_id,
                at,
                kind,
                message_type,
                before.value if before else None,
                case.status.value,
                [command.TYPE for _, command in outcome.commands],
                outcome.note,
            )
        )


def emit_return(outbox: BatchOutbox, outcome: ReturnOutcome, causation: Envelope | None) -> None:
    """A return's commands, then its event, keyed by the order (one partition per order,
    so a return's messages keep their order with the order's own)."""
    order_id = outcome.case.order_id
    for topic, command in outcome.commands:
        outbox.put(topic, command, correlation_id=order_id, causation=causation)
    for event in outcome.events:
        outbox.put(topics.ORDERS_EVENTS, event, correlation_id=order_id, causation=causation)


def _log_end(case: ReturnCase) -> None:
    if case.status is ReturnStatus.FAILED:
        # An alert: money or goods of a return need a person.
        metrics.RETURN_FAILURES.inc()
        log.error("return_failed", return_id=case.return_id, reason=case.outcome)
    else:
        log.info("return_finished", return_id=case.return_id, status=case.status.value)
