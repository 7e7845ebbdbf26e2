"""Shipping's second consumer use case: return labels, a batch at a time (the same
consumer and transaction as the shipments; its own table, so its rows never meet theirs).

The batch's labels are loaded and locked once (by return id), every command is decided in
memory in message order, and new or changed labels are written once. Every command is
answered, also a resend:
    CreateReturnLabel  issued    -> ReturnLabelCreated
                       refused   -> ReturnLabelRefused(reason)
                       cancelled -> ReturnLabelRefused("cancelled: ...")
    CancelReturnLabel  any/none  -> ReturnLabelCancelled
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from orderflow_contracts import topics
from orderflow_contracts.shipping import (
    CancelReturnLabel,
    CreateReturnLabel,
    ReturnLabelCancelled,
    ReturnLabelCreated,
    ReturnLabelRefused,
)
from orderflow_messaging.consumer import Batch, Incoming
from orderflow_messaging.registry import Message
from shipping.application.ports import LabelStore
from shipping.domain.carrier import SimulatedCarrier
from shipping.domain.return_labels import LabelStatus, ReturnLabel, issue_label, label_tombstone

LabelCommand = CreateReturnLabel | CancelReturnLabel


@dataclass
class LabelBook:
    labels: dict[str, ReturnLabel]
    created: set[str] = field(default_factory=set)
    changed: set[str] = field(default_factory=set)

    def apply(self, cmd: LabelCommand, carrier: SimulatedCarrier) -> Message:
        label = self.labels.get(cmd.return_id)
        match cmd:
            case CreateReturnLabel():
                if label is None:
                    named = carrier.named(cmd.carrier)
                    label = issue_label(cmd.return_id, cmd.order_id, cmd.address.postcode, named)
                    self._put(label, new=True)
                return answer_to_create(label)
            case CancelReturnLabel():
                if label is None:
                    self._put(label_tombstone(cmd.return_id, cmd.order_id, cmd.reason), new=True)
                elif label.status is not LabelStatus.CANCELLED:
                    self._put(label.cancelled(cmd.reason))
                return ReturnLabelCancelled(return_id=cmd.return_id, order_id=cmd.order_id)

    def _put(self, label: ReturnLabel, *, new: bool = False) -> None:
        self.labels[label.return_id] = label
        if new:
            self.created.add(label.return_id)
        elif label.return_id not in self.created:
            self.changed.add(label.return_id)


def answer_to_create(label: ReturnLabel) -> Message:
    ids = {"return_id": label.return_id, "order_id": label.order_id}
    if label.status is LabelStatus.ISSUED:
        assert label.carrier is not None
        assert label.tracking_number is not None
        return ReturnLabelCreated(
            **ids, carrier=label.carrier, tracking_number=label.tracking_number
        )
    reason = label.reason or "refused"
    if label.status is LabelStatus.CANCELLED:
        reason = f"cancelled: {reason}"[:200]
    return ReturnLabelRefused(**ids, reason=reason)


async def handle_label_commands(
    store: LabelStore,
    batch: Batch,
    items: Sequence[Incoming[LabelCommand]],
    carrier: SimulatedCarrier,
) -> None:
    """Load and lock once, fold in message order, write each new or changed label once."""
    book = await store.load_for_update(sorted({item.message.return_id for item in items}))
    for item in items:
        reply = book.apply(item.message, carrier)
        batch.outbox.put(
            topics.SHIPPING_EVENTS, reply,
            correlation_id=item.message.order_id, causation=item.envelope,
        )  # fmt: skip
    await store.save(book)
