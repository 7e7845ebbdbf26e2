"""The demo's upstream system: orders submitted through the Kafka door (orders.inbound),
every other one cancelled right after (CancelOrder on the same key, so it follows its
submission), and the answers read back from orders.inbound.replies.

The CLI plays the upstream here, as `orderflow publish-sample` does.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from orderflow_cli.samples import INBOUND, REPLIES, submission_payload, upstream_envelope
from orderflow_messaging.kafka import client_options


@dataclass
class UpstreamOrder:
    reference: str
    cancel: bool
    order_id: str | None = None
    placed_at: float = 0.0
    answers: list[str] = field(default_factory=list)  # reply types, in order

    @property
    def expected(self) -> int:
        return 2 if self.cancel else 1


def make_upstream(count: int, run: str) -> list[UpstreamOrder]:
    return [UpstreamOrder(f"demo-{run}-{n}", cancel=n % 2 == 1) for n in range(count)]


async def submit_and_cancel(
    bootstrap: str, orders: list[UpstreamOrder], timeout_s: float = 60.0
) -> None:
    """Send every submission (and its cancellation), then read the answers."""
    producer = AIOKafkaProducer(**client_options(bootstrap), acks="all", enable_idempotence=True)
    await producer.start()
    try:
        for order in orders:
            key = order.reference.encode()
            order.placed_at = time.time()
            await producer.send_and_wait(INBOUND, submission_bytes(order.reference), key=key)
            if order.cancel:
                await producer.send_and_wait(INBOUND, cancellation_bytes(order.reference), key=key)
    finally:
        await producer.stop()
    await _answers(bootstrap, orders, timeout_s)


def submission_bytes(reference: str) -> bytes:
    # No expected price: the demo's price lists may price it for this customer.
    line = {"sku": "TEE-BLK-M", "quantity": 1}
    payload = submission_payload(reference, 2, customer_id=f"up-{reference}", lines=[line])
    return upstream_envelope(2, payload, reference)


def cancellation_bytes(reference: str) -> bytes:
    payload = {"reference": reference, "reason": "cancelled by the demo's upstream"}
    return upstream_envelope(1, payload, reference, "CancelOrder")


async def _answers(bootstrap: str, orders: list[UpstreamOrder], timeout_s: float) -> None:
    by_key = {o.reference.encode(): o for o in orders}
    consumer = AIOKafkaConsumer(
        REPLIES, **client_options(bootstrap), auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline and any(len(o.answers) < o.expected for o in orders):
            for batch in (await consumer.getmany(timeout_ms=300)).values():
                for record in batch:
                    order = by_key.get(record.key or b"")
                    # An earlier run with the same seed answered the same: count one run.
                    if order is not None and len(order.answers) < order.expected:
                        _answered(order, record.value or b"{}")
            await asyncio.sleep(0)
    finally:
        await consumer.stop()


def _answered(order: UpstreamOrder, value: bytes) -> None:
    reply: dict[str, Any] = json.loads(value)
    order.answers.append(str(reply.get("type")))
    if reply.get("type") == "OrderSubmissionAccepted":
        order.order_id = reply["payload"]["order_id"]


def upstream_summary(orders: list[UpstreamOrder]) -> dict[str, int]:
    answers = [a for o in orders for a in o.answers]
    return {
        "submitted": len(orders),
        "accepted": answers.count("OrderSubmissionAccepted"),
        "rejected": answers.count("OrderSubmissionRejected"),
        "cancellations": sum(o.cancel for o in orders),
        "cancellations_accepted": answers.count("OrderCancellationAccepted"),
        "cancellations_refused": answers.count("OrderCancellationRefused"),
        "unanswered": sum(max(0, o.expected - len(o.answers)) for o in orders),
    }
