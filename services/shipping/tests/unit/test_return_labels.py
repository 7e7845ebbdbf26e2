"""Return labels on the in-memory store: one label per return, refused where the
carrier does not collect, cancelled (or a tombstone) on request, every command answered."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from orderflow_contracts import registry
from orderflow_contracts.common import Address, StockLine
from orderflow_contracts.shipping import CancelReturnLabel, CreateReturnLabel
from orderflow_messaging.clock import FixedClock
from orderflow_messaging.consumer import Batch
from orderflow_messaging.outbox import BatchOutbox
from orderflow_testing.batches import incoming
from shipping.adapters.label_store import MemoryLabelStore
from shipping.application.return_labels import handle_label_commands
from shipping.domain.carrier import SimulatedCarrier
from shipping.domain.return_labels import LabelStatus

NOW = datetime(2026, 12, 7, 9, tzinfo=UTC)
R1, R2, R3 = "R-00000000000000a1", "R-00000000000000a2", "R-00000000000000a3"


def create(return_id: str, postcode: str = "1100-148") -> CreateReturnLabel:
    address = Address(name="Ana", line1="Rua 1", city="Lisboa", postcode=postcode, country="PT")
    return CreateReturnLabel(
        return_id=return_id, order_id="o1", address=address,
        lines=[StockLine(sku="TEE-BLK-M", quantity=1)],
    )  # fmt: skip


def cancel(return_id: str) -> CancelReturnLabel:
    return CancelReturnLabel(return_id=return_id, order_id="o1", reason="never sent")


async def run(store: MemoryLabelStore, *commands: Any) -> list[tuple[str, dict[str, Any]]]:
    clock = FixedClock(NOW)
    outbox = BatchOutbox(producer="shipping", clock=clock)
    items = [incoming(c, n=n) for n, c in enumerate(commands)]
    batch = Batch(None, outbox, clock)  # type: ignore[arg-type]
    await handle_label_commands(store, batch, items, SimulatedCarrier())
    messages = registry()
    decoded = [
        messages.decode_payload(messages.parse_envelope(r.value, max_bytes=1 << 20))
        for r in outbox.records()
    ]
    return [(m.TYPE, m.model_dump(mode="json")) for m in decoded]


async def test_a_label_is_issued_once_refused_where_nobody_collects_and_cancelled_on_request() -> (
    None
):
    store = MemoryLabelStore()
    replies = await run(store, create(R1), create(R1), create(R2, postcode="98100"))
    assert [t for t, _ in replies] == ["ReturnLabelCreated", "ReturnLabelCreated",
                                       "ReturnLabelRefused"]  # fmt: skip
    assert replies[0][1]["tracking_number"] == replies[1][1]["tracking_number"] == "RL0000000000A1"
    assert replies[2][1]["reason"] == "the carrier does not collect at this address"
    replies = await run(store, cancel(R1), cancel(R3), create(R3), create(R1))
    assert [t for t, _ in replies] == [
        "ReturnLabelCancelled", "ReturnLabelCancelled", "ReturnLabelRefused", "ReturnLabelRefused",
    ]  # fmt: skip
    assert replies[2][1]["reason"] == "cancelled: never sent"  # a late create after its cancel
    assert {r: lb.status for r, lb in store.labels.items()} == {
        R1: LabelStatus.CANCELLED, R2: LabelStatus.REFUSED, R3: LabelStatus.CANCELLED,
    }  # fmt: skip
