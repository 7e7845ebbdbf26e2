"""The coordinator's consumer use case, a batch at a time.

Every saga the batch touches is loaded and locked once (by order id), the pure
transitions are folded over the batch's messages in message order by ``SagaBook``, and
the store writes new sagas, changed sagas (one version check each) and the history rows
once per batch. Commands and events go to the batch outbox in the order the transitions
made them, so per-order order holds on every topic.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

import structlog

from orderflow_contracts import topics
from orderflow_contracts.checkout import OrderCancellationRequested, OrderPlaced
from orderflow_messaging.consumer import Batch, Incoming
from orderflow_messaging.crash import crashpoint
from orderflow_messaging.envelope import Envelope
from orderflow_messaging.errors import PermanentFailure
from orderflow_messaging.outbox import BatchOutbox
from orderflow_messaging.registry import Message
from orders import metrics
from orders.application.ports import HistoryRow, ReturnStore, SagaStore
from orders.application.return_book import emit_return, return_id_of
from orders.application.saga_service import order_data
from orders.returns.policy import ReturnPolicy
from orders.returns.state import ReturnStatus
from orders.saga import transitions
from orders.saga.policy import SagaPolicy
from orders.saga.state import Saga, SagaStatus
from orders.saga.transitions import Outcome

log = structlog.get_logger(__name__)


def order_id_of(message: Message) -> str:
    return str(getattr(message, "order_id"))  # noqa: B009 - every saga message carries it


@dataclass
class SagaBook:
    """The sagas of one batch: as loaded (with their versions) and as the fold leaves
    them; which are new; and the history rows of every transition."""

    sagas: dict[str, Saga]
    loaded_versions: dict[str, int] = field(default_factory=dict)
    created: set[str] = field(default_factory=set)
    changed: set[str] = field(default_factory=set)
    history: list[HistoryRow] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.loaded_versions = {o: s.version for o, s in self.sagas.items()}

    def apply(
        self, message: Message, message_id: UUID, now: datetime, policy: SagaPolicy
    ) -> Outcome | None:
        """One message's transition (None: an OrderPlaced seen before, ignored)."""
        if isinstance(message, OrderPlaced):
            return self._start(message, message_id, now, policy)
        order_id = order_id_of(message)
        saga = self.sagas.get(order_id)
        if saga is None:
            raise PermanentFailure(f"{message.TYPE} for unknown order {order_id}")
        if isinstance(message, OrderCancellationRequested):
            outcome = transitions.on_upstream_cancel(saga, message, now, policy)
            self._record(saga.status, outcome, "cancel", message.TYPE, message_id, now)
            return outcome
        outcome = transitions.on_reply(saga, message, now, policy)
        if outcome.changed and outcome.saga.step is not saga.step:
            metrics.observe_reply(saga, now, policy)  # the reply settled its step
        self._record(saga.status, outcome, "reply", message.TYPE, message_id, now)
        return outcome

    def _start(
        self, msg: OrderPlaced, message_id: UUID, now: datetime, policy: SagaPolicy
    ) -> Outcome | None:
        if msg.order_id in self.sagas:
            log.debug("order_placed_again_ignored", order_id=msg.order_id)
            return None
        outcome = transitions.start(msg.order_id, order_data(msg), now, policy)
        self.created.add(msg.order_id)
        self._record(None, outcome, "started", msg.TYPE, message_id, now, version=1)
        return outcome

    def _record(
        self,
        before: SagaStatus | None,
        outcome: Outcome,
        kind: str,
        message_type: str,
        message_id: UUID,
        now: datetime,
        *,
        version: int | None = None,
    ) -> None:
        saga = outcome.saga
        metrics.observe_transition(before, saga.status)
        if outcome.changed:
            current = self.sagas.get(saga.order_id)
            new_version = (
                version if version is not None else (current.version if current else 0) + 1
            )
            saga = saga.evolve(version=new_version)
            self.sagas[saga.order_id] = saga
            if saga.order_id not in self.created:
                self.changed.add(saga.order_id)
            if saga.status.terminal and (before is None or not before.terminal):
                _log_terminal(saga)
        self.history.append(
            HistoryRow(
                order_id=saga.order_id,
                at=now,
                kind=kind,
                message_type=message_type,
                message_id=message_id,
                from_status=before.value if before else None,
                to_status=saga.status.value,
                step=saga.step.value if saga.step else None,
                commands=[command.TYPE for _, command in outcome.commands],
                note=outcome.note,
            )
        )


def emit(outbox: BatchOutbox, outcome: Outcome, causation: Envelope) -> None:
    order_id = outcome.saga.order_id
    for topic, command in outcome.commands:
        outbox.put(topic, command, correlation_id=order_id, causation=causation)
    for event in outcome.events:
        outbox.put(topics.ORDERS_EVENTS, event, correlation_id=order_id, causation=causation)
    for reply in outcome.replies:
        outbox.put(
            topics.ORDERS_INBOUND_REPLIES, reply,
            correlation_id=reply.reference, causation=causation, key=reply.reference,
        )  # fmt: skip


async def handle_saga_messages(
    store: SagaStore,
    batch: Batch,
    items: Sequence[Incoming[Message]],
    policy: SagaPolicy,
    returns: ReturnStore | None = None,
    return_policy: ReturnPolicy | None = None,
) -> None:
    """Load and lock once, fold in message order, write each table once. A reply that
    names a return goes to that return (``returns``), the others to the order's saga;
    the returns' table is read and written only by a batch that has such a reply."""
    mine = [return_id_of(i.message) for i in items]
    saga_items = [i for i, r in zip(items, mine, strict=True) if r is None]
    book = await store.load_for_update(*_touched(saga_items))
    wanted = sorted({r for r in mine if r is not None})
    cases = None
    if wanted:
        if returns is None or return_policy is None:
            raise PermanentFailure("a return's reply, and no returns here")
        cases = await returns.load_for_update(wanted)
    now = batch.clock()
    for item, return_id in zip(items, mine, strict=True):
        if return_id is not None:
            assert cases is not None
            assert return_policy is not None
            moved = cases.apply_reply(item.message, now, return_policy)
            emit_return(batch.outbox, moved, item.envelope)
            continue
        outcome = book.apply(item.message, item.envelope.message_id, now, policy)
        if outcome is not None:
            emit(batch.outbox, outcome, item.envelope)
    await store.save(book)
    if cases is not None and returns is not None:
        await returns.save(cases)
        if any(c.status is ReturnStatus.REFUNDED for c in cases.cases.values()):
            # Fault tests: a refund folded and its restock queued, not yet committed.
            crashpoint("orders.after_return_refund")


def _touched(items: Sequence[Incoming[Message]]) -> tuple[list[str], set[str]]:
    """The order ids of the batch's saga messages, and those whose first message here
    is an OrderPlaced (new, unless a redelivery: the store's save tells)."""
    first: dict[str, Message] = {}
    for item in items:
        first.setdefault(order_id_of(item.message), item.message)
    starting = {o for o, m in first.items() if isinstance(m, OrderPlaced)}
    return sorted(first), starting


def _log_terminal(saga: Saga) -> None:
    if saga.status is SagaStatus.COMPENSATION_FAILED:
        # An alert: money or goods need a human (listed by `orderflow saga list`).
        log.error("saga_compensation_failed", order_id=saga.order_id, reason=saga.reason)
    else:
        log.debug("saga_finished", order_id=saga.order_id, status=saga.status.value)
