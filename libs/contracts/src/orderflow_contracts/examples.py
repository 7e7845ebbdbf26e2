"""Golden samples: one realistic envelope per message type and version.

``schemas/examples/<owner>/<Type>.v<N>.json``. They show a reader what travels on each
topic and pin the wire form: tests decode every one with the registry, so a model change
that would reject yesterday's messages fails here even when its schema diff looks fine.
The bodies are hand-built in ``example_payloads``; this module puts them in envelopes
the way the services would (producer, correlation by order id, causation by the message
each one answers) and writes or checks the files.

    python -m orderflow_contracts.examples write [--root DIR] [--prune]
    python -m orderflow_contracts.examples check [--root DIR]
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid5

from orderflow_contracts import inventory, payment, promotions, shipping
from orderflow_contracts.example_payloads import T0, UPSTREAM, payloads
from orderflow_contracts.generated import Files, json_files, main, render
from orderflow_contracts.schema_export import EXAMPLES_DIR, owner, relative_name
from orderflow_messaging.envelope import Envelope
from orderflow_messaging.registry import Message

# Message ids are derived, not random, so that `check` sees the same bytes every run.
_ID_NAMESPACE = UUID("0b6f2d4e-8a13-4c57-9e21-7f3a5c9d1e60")

# What each message answers or follows: its envelope's causation id is that message's id.
# Absent: nothing on a topic caused it (an HTTP request, a catalog edit, a customer cancel).
_CAUSED_BY = {
    "OrderSubmissionAccepted": "SubmitOrder",
    "OrderSubmissionRejected": "SubmitOrder",
    "OrderPlaced": "SubmitOrder",
    "RedeemPromotions": "OrderPlaced",
    "PromotionsRedeemed": "RedeemPromotions",
    "PromotionRedemptionRefused": "RedeemPromotions",
    "ReserveStock": "PromotionsRedeemed",
    "StockReserved": "ReserveStock",
    "StockReservationFailed": "ReserveStock",
    "AuthorizePayment": "StockReserved",
    "PaymentAuthorized": "AuthorizePayment",
    "PaymentDeclined": "AuthorizePayment",
    "OrderConfirmed": "PaymentAuthorized",
    "CreateShipment": "PaymentAuthorized",
    "ShipmentCreated": "CreateShipment",
    "ShipmentFailed": "CreateShipment",
    "CapturePayment": "ShipmentCreated",
    "PaymentCaptured": "CapturePayment",
    "PaymentCaptureFailed": "CapturePayment",
    "CommitStock": "PaymentCaptured",
    "StockCommitted": "CommitStock",
    "OrderCompleted": "StockCommitted",
    "ShipmentDispatched": "ShipmentCreated",
    "ShipmentDelivered": "ShipmentDispatched",
    "OrderRejected": "StockReservationFailed",
    "ShipmentCancelled": "CancelShipment",
    "ShipmentCancellationFailed": "CancelShipment",
    "VoidPayment": "ShipmentFailed",
    "PaymentVoided": "VoidPayment",
    "RefundPayment": "ShipmentCancelled",
    "PaymentRefunded": "RefundPayment",
    "ReleaseStock": "PaymentDeclined",
    "StockReleased": "ReleaseStock",
    "ReleasePromotions": "StockReleased",
    "PromotionsReleased": "ReleasePromotions",
    "OrderCancelled": "PromotionsReleased",
    "OrderCompensationFailed": "ShipmentCancellationFailed",
}
# The saga in orders sends every command; an upstream shop sends submissions, checkout
# answers them; every other event comes from the service named like its module.
_COMMANDS = {*promotions.COMMANDS, *inventory.COMMANDS, *payment.COMMANDS, *shipping.COMMANDS}
_PRODUCERS = {
    "PromotionsRedeemed": "catalog",
    "PromotionRedemptionRefused": "catalog",
    "PromotionsReleased": "catalog",
    "SubmitOrder": UPSTREAM,
    "OrderSubmissionAccepted": "checkout",
    "OrderSubmissionRejected": "checkout",
}


def message_id(type_: str, version: int) -> UUID:
    return uuid5(_ID_NAMESPACE, f"{type_}.v{version}")


def _producer(message: Message) -> str:
    if type(message) in _COMMANDS:
        return "orders"
    return _PRODUCERS.get(message.TYPE) or owner(type(message))


def _correlation(message: Message) -> str:
    # Upstream exchanges correlate by the upstream's reference, catalog events by SKU (or
    # the price list, rule or customer they are about), everything else by order id (as
    # each service's outbox call does).
    for name in (
        "reference",
        "order_id",
        "sku",
        "list_id",
        "rule_id",
        "promotion_id",
        "method_id",
        "customer_id",
    ):
        value = getattr(message, name, None)
        if isinstance(value, str):
            return value
    raise ValueError(f"{message.TYPE} has no reference, order id or SKU to correlate by")


def _steps(type_: str) -> int:
    """How many messages precede ``type_`` in its causal chain."""
    cause = _CAUSED_BY.get(type_)
    return 0 if cause is None else 1 + _steps(cause)


def envelope_of(message: Message, newest: dict[str, int]) -> Envelope:
    """``message`` in its envelope; its cause is the newest version of the causing type.

    Every value depends on the message's type and version alone (never on its position
    in ``payloads``), so adding a type leaves the other files byte-identical."""
    cause = _CAUSED_BY.get(message.TYPE)
    return Envelope(
        message_id=message_id(message.TYPE, message.VERSION),
        type=message.TYPE,
        version=message.VERSION,
        occurred_at=T0 + timedelta(milliseconds=350 * _steps(message.TYPE)),
        producer=_producer(message),
        correlation_id=_correlation(message),
        causation_id=None if cause is None else message_id(cause, newest[cause]),
        payload=message.model_dump(mode="json"),
    )


def examples() -> dict[str, dict[str, Any]]:
    """Repository-relative path -> envelope as JSON data, for every sample."""
    messages = payloads()
    newest = {m.TYPE: m.VERSION for m in sorted(messages, key=lambda m: m.VERSION)}
    return {
        f"{EXAMPLES_DIR}/{relative_name(type(m))}": envelope_of(m, newest).model_dump(mode="json")
        for m in messages
    }


def example_files() -> Files:
    return {path: render(data) for path, data in examples().items()}


def example_files_on_disk(root: Path) -> list[str]:
    return json_files(root, EXAMPLES_DIR)


def cli(argv: Sequence[str] | None = None) -> int:
    return main(
        "python -m orderflow_contracts.examples", argv, example_files, example_files_on_disk
    )


if __name__ == "__main__":
    raise SystemExit(cli())
