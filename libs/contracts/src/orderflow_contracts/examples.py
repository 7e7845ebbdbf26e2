"""Golden samples: one realistic envelope per message type and version.

``schemas/examples/<owner>/<Type>.v<N>.json``. They show a reader what travels on each
topic and pin the wire form: tests decode every one with the registry, so a model change
that would reject yesterday's messages fails here even when its schema diff looks fine.
Built by hand from the models (not generated from the schemas) so the values tell the
story of one order: EUR prices from the sample catalog, ``tok_ok``, a Lisbon address.

    python -m orderflow_contracts.examples write [--root DIR] [--prune]
    python -m orderflow_contracts.examples check [--root DIR]
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid5

from orderflow_contracts import catalog, checkout, inventory, orders, payment, shipping
from orderflow_contracts.common import Address, PricedLine, StockLine
from orderflow_contracts.generated import Files, json_files, main, render
from orderflow_contracts.samples import SAMPLE_CATALOG, SampleProduct
from orderflow_contracts.schema_export import EXAMPLES_DIR, owner, relative_name
from orderflow_messaging.envelope import Envelope
from orderflow_messaging.registry import Message

ORDER_ID = "8d7b5f0e-3c2a-4e61-9b8f-2f5d1c6a7e94"
SHIPMENT_ID = "c41f9a27-5d0b-4c8e-a6f3-91e2b7d05a18"
AUTHORIZATION_ID = "auth_5e0c2b9d7a1f4c3e8b6a0d2f9e7c1b43"
EUR = "EUR"
# The simulated gateway's public, always-approving test token (README), not a secret.
TEST_TOKEN = "tok_ok"  # noqa: S105
# Message ids are derived, not random, so that `check` sees the same bytes every run.
_ID_NAMESPACE = UUID("0b6f2d4e-8a13-4c57-9e21-7f3a5c9d1e60")
_T0 = datetime(2025, 3, 14, 9, 26, 53, 120000, tzinfo=UTC)


def _product(sku: str) -> SampleProduct:
    return next(p for p in SAMPLE_CATALOG if p.sku == sku)


_TEE, _MUG = _product("TEE-BLK-M"), _product("MUG-ENAMEL")
_LINES = [
    PricedLine(sku=_TEE.sku, quantity=2, unit_price_minor=_TEE.price_minor),
    PricedLine(sku=_MUG.sku, quantity=1, unit_price_minor=_MUG.price_minor),
]
_STOCK = [StockLine(sku=line.sku, quantity=line.quantity) for line in _LINES]
_TOTAL = sum(line.quantity * line.unit_price_minor for line in _LINES)
_ADDRESS = Address(
    name="Ana Souza", line1="Rua Augusta 1200", city="Lisboa", postcode="1100-053", country="PT"
)


def _key(operation: str) -> str:
    # The saga's idempotency key format (docs/events.md): "<order id>:<operation>".
    return f"{ORDER_ID}:{operation}"


def payloads() -> tuple[Message, ...]:
    """One body per type and version, in the order of an order's life."""
    hoodie = _product("HOODIE-GRY-M")
    return (
        catalog.ProductPublished(
            sku=hoodie.sku, name=hoodie.name, price_minor=hoodie.price_minor, currency=EUR
        ),
        catalog.PriceChanged(sku=hoodie.sku, price_minor=5400, currency=EUR),
        checkout.OrderPlaced(
            order_id=ORDER_ID,
            customer_id="cus_2f81c0",
            lines=_LINES,
            currency=EUR,
            total_minor=_TOTAL,
            shipping_address=_ADDRESS,
            payment_token=TEST_TOKEN,
            placed_at=_T0 - timedelta(milliseconds=40),
        ),
        inventory.ReserveStock(order_id=ORDER_ID, lines=_STOCK),
        inventory.StockReserved(order_id=ORDER_ID, lines=_STOCK),
        inventory.StockReservationFailed(
            order_id=ORDER_ID, reason="insufficient stock", unavailable=["SOLD-OUT"]
        ),
        payment.AuthorizePayment(
            order_id=ORDER_ID,
            amount_minor=_TOTAL,
            currency=EUR,
            payment_token=TEST_TOKEN,
            idempotency_key=_key("authorize"),
        ),
        payment.PaymentAuthorized(
            order_id=ORDER_ID, authorization_id=AUTHORIZATION_ID, amount_minor=_TOTAL, currency=EUR
        ),
        payment.PaymentDeclined(order_id=ORDER_ID, reason="card_declined"),
        orders.OrderConfirmed(order_id=ORDER_ID),
        shipping.CreateShipment(order_id=ORDER_ID, address=_ADDRESS, lines=_STOCK),
        shipping.ShipmentCreated(
            order_id=ORDER_ID,
            shipment_id=SHIPMENT_ID,
            carrier="SimPost",
            tracking_number=f"SP{UUID(SHIPMENT_ID).hex[-12:].upper()}",
        ),
        shipping.ShipmentFailed(order_id=ORDER_ID, reason="carrier rejected the address"),
        payment.CapturePayment(
            order_id=ORDER_ID, amount_minor=_TOTAL, currency=EUR, idempotency_key=_key("capture")
        ),
        payment.PaymentCaptured(order_id=ORDER_ID, amount_minor=_TOTAL, currency=EUR),
        payment.PaymentCaptureFailed(order_id=ORDER_ID, reason="capture_declined"),
        inventory.CommitStock(order_id=ORDER_ID),
        inventory.StockCommitted(order_id=ORDER_ID),
        orders.OrderCompleted(order_id=ORDER_ID, total_minor=_TOTAL),
        shipping.ShipmentDispatched(order_id=ORDER_ID, shipment_id=SHIPMENT_ID),
        shipping.ShipmentDelivered(order_id=ORDER_ID, shipment_id=SHIPMENT_ID),
        orders.OrderRejected(order_id=ORDER_ID, reason="insufficient stock: SOLD-OUT"),
        shipping.CancelShipment(order_id=ORDER_ID, reason="cancelled by customer"),
        shipping.ShipmentCancelled(order_id=ORDER_ID),
        shipping.ShipmentCancellationFailed(order_id=ORDER_ID, reason="already dispatched"),
        payment.VoidPayment(order_id=ORDER_ID, idempotency_key=_key("void")),
        payment.PaymentVoided(order_id=ORDER_ID),
        payment.RefundPayment(
            order_id=ORDER_ID, amount_minor=_TOTAL, currency=EUR, idempotency_key=_key("refund")
        ),
        payment.PaymentRefunded(order_id=ORDER_ID, amount_minor=_TOTAL, currency=EUR),
        inventory.ReleaseStock(order_id=ORDER_ID, reason="payment declined: card_declined"),
        inventory.StockReleased(order_id=ORDER_ID),
        orders.OrderCancelled(order_id=ORDER_ID, reason="payment declined: card_declined"),
        orders.OrderCompensationFailed(
            order_id=ORDER_ID,
            reason="shipment not cancelled: already dispatched",
        ),
    )


# What each message answers or follows: its envelope's causation id is that message's id.
# Absent: nothing on a topic caused it (an HTTP request, a catalog edit, a customer cancel).
_CAUSED_BY = {
    "ReserveStock": "OrderPlaced",
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
    "OrderCancelled": "StockReleased",
    "OrderCompensationFailed": "ShipmentCancellationFailed",
}
# The saga in orders sends every command; everything else comes from its owner.
_COMMANDS = {*inventory.COMMANDS, *payment.COMMANDS, *shipping.COMMANDS}


def message_id(type_: str, version: int = 1) -> UUID:
    return uuid5(_ID_NAMESPACE, f"{type_}.v{version}")


def envelope_of(message: Message, position: int) -> Envelope:
    cause = _CAUSED_BY.get(message.TYPE)
    # catalog events are keyed and correlated by SKU, everything else by order id.
    correlation = str(getattr(message, "order_id", getattr(message, "sku", "")))
    return Envelope(
        message_id=message_id(message.TYPE, message.VERSION),
        type=message.TYPE,
        version=message.VERSION,
        occurred_at=_T0 + timedelta(milliseconds=350 * position),
        producer="orders" if type(message) in _COMMANDS else owner(type(message)),
        correlation_id=correlation,
        causation_id=None if cause is None else message_id(cause),
        payload=message.model_dump(mode="json"),
    )


def examples() -> dict[str, dict[str, Any]]:
    """Repository-relative path -> envelope as JSON data, for every sample."""
    return {
        f"{EXAMPLES_DIR}/{relative_name(type(message))}": envelope_of(message, i).model_dump(
            mode="json"
        )
        for i, message in enumerate(payloads())
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
