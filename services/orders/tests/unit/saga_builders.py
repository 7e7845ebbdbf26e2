"""Builders for saga tests: an order, replies, and a saga at any step."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from orderflow_contracts.common import StockLine
from orderflow_contracts.inventory import (
    StockCommitted,
    StockReleased,
    StockReservationFailed,
    StockReserved,
)
from orderflow_contracts.payment import (
    PaymentAuthorized,
    PaymentCaptured,
    PaymentCaptureFailed,
    PaymentDeclined,
    PaymentRefunded,
    PaymentVoided,
)
from orderflow_contracts.promotions import (
    PromotionRedemptionRefused,
    PromotionsRedeemed,
    PromotionsReleased,
)
from orderflow_contracts.shipping import (
    ShipmentCancellationFailed,
    ShipmentCancelled,
    ShipmentCreated,
    ShipmentDelivered,
    ShipmentDispatched,
    ShipmentFailed,
)
from orderflow_messaging.registry import Message
from orders.saga.policy import SagaPolicy
from orders.saga.state import Facts, OrderData, OrderLine, Saga, SagaStatus, Step

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
POLICY = SagaPolicy(step_timeout=timedelta(seconds=5), step_retries=2, compensation_retries=3)
OID = "order-1"

ORDER = OrderData(
    customer_id="c1",
    lines=(OrderLine("TEE-BLK-M", 2, 1990),),
    currency="EUR",
    total_minor=3980,
    address={
        "name": "Ada",
        "line1": "1 Way",
        "city": "Berlin",
        "postcode": "10115",
        "country": "DE",
    },
    payment_token="tok_ok",
)

REPLIES: dict[str, Message] = {
    "PromotionsRedeemed": PromotionsRedeemed(order_id=OID, promotion_ids=["ten"]),
    "PromotionRedemptionRefused": PromotionRedemptionRefused(
        order_id=OID, promotion_id="ten", reason="ten has no use left"
    ),
    "PromotionsReleased": PromotionsReleased(order_id=OID, promotion_ids=["ten"]),
    "StockReserved": StockReserved(order_id=OID, lines=[StockLine(sku="TEE-BLK-M", quantity=2)]),
    "StockReservationFailed": StockReservationFailed(
        order_id=OID, reason="insufficient stock", unavailable=["TEE-BLK-M"]
    ),
    "StockCommitted": StockCommitted(order_id=OID),
    "StockReleased": StockReleased(order_id=OID),
    "PaymentAuthorized": PaymentAuthorized(
        order_id=OID, authorization_id="a1", amount_minor=3980, currency="EUR"
    ),
    "PaymentDeclined": PaymentDeclined(order_id=OID, reason="card_declined"),
    "PaymentCaptured": PaymentCaptured(order_id=OID, amount_minor=3980, currency="EUR"),
    "PaymentCaptureFailed": PaymentCaptureFailed(order_id=OID, reason="expired"),
    "PaymentVoided": PaymentVoided(order_id=OID),
    "PaymentRefunded": PaymentRefunded(order_id=OID, amount_minor=3980, currency="EUR"),
    "ShipmentCreated": ShipmentCreated(
        order_id=OID, shipment_id="s1", carrier="SimPost", tracking_number="T1"
    ),
    "ShipmentFailed": ShipmentFailed(order_id=OID, reason="carrier rejected the address"),
    "ShipmentCancelled": ShipmentCancelled(order_id=OID),
    "ShipmentCancellationFailed": ShipmentCancellationFailed(
        order_id=OID, reason="already dispatched"
    ),
    "ShipmentDispatched": ShipmentDispatched(order_id=OID, shipment_id="s1"),
    "ShipmentDelivered": ShipmentDelivered(order_id=OID, shipment_id="s1"),
}

# Facts that hold once the saga is waiting at each forward step.
_FACTS_AT = {
    Step.REDEEM_PROMOTIONS: Facts(),
    Step.RESERVE_STOCK: Facts(),
    Step.AUTHORIZE_PAYMENT: Facts(stock_reserved=True),
    Step.CREATE_SHIPMENT: Facts(stock_reserved=True, payment_authorized=True),
    Step.CAPTURE_PAYMENT: Facts(
        stock_reserved=True, payment_authorized=True, shipment_created=True
    ),
    Step.COMMIT_STOCK: Facts(
        stock_reserved=True, payment_authorized=True, shipment_created=True, payment_captured=True
    ),
}


# The same order with a coupon whose uses are counted (the saga redeems it first).
WITH_COUPON = replace(ORDER, promotions=("ten",))


def running(step: Step, attempt: int = 1) -> Saga:
    order = WITH_COUPON if step is Step.REDEEM_PROMOTIONS else ORDER
    return Saga(
        OID, order, SagaStatus.RUNNING, step, attempt, T0 + POLICY.step_timeout, _FACTS_AT[step]
    )


def compensating(step: Step, rest: tuple[Step, ...] = (), facts: Facts | None = None) -> Saga:
    return Saga(
        OID, ORDER, SagaStatus.COMPENSATING, step, 1, T0 + POLICY.step_timeout,
        facts or _FACTS_AT[Step.COMMIT_STOCK], rest, reason="test",
    )  # fmt: skip


def terminal(status: SagaStatus, facts: Facts | None = None) -> Saga:
    return Saga(OID, ORDER, status, None, 0, None, facts or Facts(), reason="test")


def completed(**facts: bool) -> Saga:
    base = replace(_FACTS_AT[Step.COMMIT_STOCK], stock_committed=True)
    return terminal(SagaStatus.COMPLETED, replace(base, **facts))


def compensation_failed(step: Step | None, rest: tuple[Step, ...] = ()) -> Saga:
    """As the saga is left when a compensation gave up: at the failed step, deadline off."""
    saga = compensating(step or Step.RELEASE_STOCK, rest)
    return saga.evolve(
        status=SagaStatus.COMPENSATION_FAILED, step=step, deadline=None, reason="gave up"
    )
