"""The bodies of the golden samples: one order's life, told with one message of every
type and version (see ``examples`` for why they exist and how they are written).

Hand-written, not generated from the schemas, so that the values are the realistic ones
a reader expects: EUR prices from the sample catalog, ``tok_ok``, a Lisbon address, the
saga's idempotency keys, the simulated carrier's tracking numbers.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

from orderflow_contracts import (
    catalog,
    checkout,
    inbound,
    inventory,
    orders,
    payment,
    promotions,
    shipping,
)
from orderflow_contracts.common import (
    Address,
    DeliveryChoice,
    Money,
    OrderDelivery,
    OrderDiscount,
    PricedLine,
    PricedLineV2,
    PricedLineV3,
    PricedLineV4,
    StockLine,
)
from orderflow_contracts.samples import SAMPLE_CATALOG, SampleProduct
from orderflow_messaging.registry import Message

ORDER_ID = "8d7b5f0e-3c2a-4e61-9b8f-2f5d1c6a7e94"
SHIPMENT_ID = "c41f9a27-5d0b-4c8e-a6f3-91e2b7d05a18"
AUTHORIZATION_ID = "auth_5e0c2b9d7a1f4c3e8b6a0d2f9e7c1b43"
# An upstream shop's own order reference (orders.inbound is keyed and correlated by it).
REFERENCE = "PS-2025-0004817"
UPSTREAM = "partner-shop"
EUR = "EUR"
# The simulated gateway's public, always-approving test token (README), not a secret.
TEST_TOKEN = "tok_ok"  # noqa: S105
T0 = datetime(2025, 3, 14, 9, 26, 53, 120000, tzinfo=UTC)


def _product(sku: str) -> SampleProduct:
    return next(p for p in SAMPLE_CATALOG if p.sku == sku)


_TEE, _MUG = _product("TEE-BLK-M"), _product("MUG-ENAMEL")
_LINES = [
    PricedLine(sku=_TEE.sku, quantity=2, unit_price_minor=_TEE.price_minor),
    PricedLine(sku=_MUG.sku, quantity=1, unit_price_minor=_MUG.price_minor),
]
_STOCK = [StockLine(sku=line.sku, quantity=line.quantity) for line in _LINES]
_TOTAL = sum(line.quantity * line.unit_price_minor for line in _LINES)
_LINES_V2 = [
    PricedLineV2(
        sku=line.sku,
        quantity=line.quantity,
        unit_price=Money(amount_minor=line.unit_price_minor, currency=EUR),
    )
    for line in _LINES
]
# The tee from the default list of the season, the mug at the catalog's own price.
_LINES_V3 = [
    PricedLineV3(**line.model_dump(), price_source=source)
    for line, source in zip(_LINES_V2, ("default:spring-2025", "base"), strict=True)
]
# A coupon takes 5 EUR off the tees.
_COUPON = OrderDiscount(promotion_id="spring-tees", code="TEES5", amount_minor=500, limited=True)
_LINES_V4 = [
    PricedLineV4(**line.model_dump(), discount_minor=discount, promotions=applied)
    for line, discount, applied in zip(_LINES_V3, (500, 0), (["spring-tees"], []), strict=True)
]
_ADDRESS = Address(
    name="Ana Souza", line1="Rua Augusta 1200", city="Lisboa", postcode="1100-053", country="PT"
)
_DELIVERY = OrderDelivery(
    method_id="home-standard", kind="home", carrier="SimPost", price_minor=790, zone="eu",
    weight_g=1300,
)  # fmt: skip


def _key(operation: str) -> str:
    # The saga's idempotency key format (docs/events.md): "<order id>:<operation>".
    return f"{ORDER_ID}:{operation}"


def payloads() -> tuple[Message, ...]:
    """One body per type and version, in the order of an order's life."""
    hoodie = _product("HOODIE-GRY-M")
    return (
        catalog.ProductPublished(
            sku=hoodie.sku,
            name=hoodie.name,
            price_minor=hoodie.price_minor,
            currency=EUR,
            weight_g=650,
        ),
        catalog.PriceChanged(sku=hoodie.sku, price_minor=5400, currency=EUR),
        catalog.PriceListChanged(
            list_id="contract-acme-2025",
            kind="contract",
            currency=EUR,
            customer_id="cus_2f81c0",
            valid_from=datetime(2025, 1, 1, tzinfo=UTC),
            valid_until=datetime(2026, 1, 1, tzinfo=UTC),
            prices=[
                catalog.ListedPrice(
                    sku=hoodie.sku,
                    tiers=[
                        catalog.PriceTier(min_quantity=1, unit_price_minor=4800),
                        catalog.PriceTier(min_quantity=10, unit_price_minor=4500),
                    ],
                )
            ],
            revision=3,
        ),
        catalog.PriceRuleChanged(
            rule_id="clearance-hoodies",
            basis_points=-1500,
            priority=10,
            skus=[hoodie.sku],
            stock_at_most=5,
            floor_minor=3000,
            revision=1,
        ),
        catalog.CustomerPriceGroupsChanged(customer_id="cus_2f81c0", groups=["trade"], revision=2),
        catalog.PromotionChanged(
            promotion_id="spring-tees",
            code="TEES5",
            kind="fixed",
            value=500,
            currency=EUR,
            min_basket_minor=3000,
            skus=[_TEE.sku],
            valid_from=T0 - timedelta(days=10),
            valid_until=T0 + timedelta(days=20),
            global_limit=1000,
            per_customer_limit=1,
            revision=2,
        ),
        catalog.DeliveryMethodChanged(
            method_id="pickup-points",
            name="Pickup point",
            kind="pickup",
            carrier="SimPoint",
            currency=EUR,
            zones=[
                catalog.DeliveryZone(
                    zone="de",
                    countries=["DE"],
                    bands=[
                        catalog.WeightBand(max_weight_g=2000, price_minor=290),
                        catalog.WeightBand(max_weight_g=10000, price_minor=490),
                    ],
                )
            ],
            free_over_minor=4000,
            pickup_points=[
                catalog.PickupPointData(
                    point_id="berlin-mitte",
                    name="Kiosk Mitte",
                    line1="Torstrasse 1",
                    city="Berlin",
                    postcode="10119",
                    country="DE",
                )
            ],
            revision=1,
        ),
        inbound.SubmitOrderV1(
            reference=REFERENCE,
            customer_id="cus_2f81c0",
            lines=[
                inbound.SubmittedLineV1(
                    sku=line.sku,
                    quantity=line.quantity,
                    expected_unit_price_minor=line.unit_price_minor,
                )
                for line in _LINES
            ],
            currency=EUR,
            shipping_address=_ADDRESS,
            payment_token=TEST_TOKEN,
        ),
        inbound.SubmitOrder(
            reference=REFERENCE,
            customer_id="cus_2f81c0",
            lines=[
                inbound.SubmittedLine(
                    sku=line.sku, quantity=line.quantity, expected_unit_price=line.unit_price
                )
                for line in _LINES_V2
            ],
            currency=EUR,
            shipping_address=_ADDRESS,
            payment_token=TEST_TOKEN,
            sales_channel=UPSTREAM,
            delivery=DeliveryChoice(method="home-standard"),
        ),
        inbound.OrderSubmissionRejected(
            reference=REFERENCE,
            reasons=[
                inbound.Reason(field="lines[1].sku", reason="unknown SKU 'MUG-ENAMEL-XL'"),
                inbound.Reason(
                    field="lines[0].expected_unit_price", reason="price of TEE-BLK-M is 1990 EUR"
                ),
            ],
        ),
        inbound.OrderSubmissionAccepted(reference=REFERENCE, order_id=ORDER_ID),
        checkout.OrderPlacedV1(
            order_id=ORDER_ID,
            customer_id="cus_2f81c0",
            lines=_LINES,
            currency=EUR,
            total_minor=_TOTAL,
            shipping_address=_ADDRESS,
            payment_token=TEST_TOKEN,
            placed_at=T0 - timedelta(milliseconds=40),
        ),
        checkout.OrderPlacedV2(
            order_id=ORDER_ID,
            customer_id="cus_2f81c0",
            lines=_LINES_V2,
            total=Money(amount_minor=_TOTAL, currency=EUR),
            shipping_address=_ADDRESS,
            payment_token=TEST_TOKEN,
            placed_at=T0 - timedelta(milliseconds=40),
            sales_channel=UPSTREAM,
        ),
        checkout.OrderPlacedV3(
            order_id=ORDER_ID,
            customer_id="cus_2f81c0",
            lines=_LINES_V3,
            total=Money(amount_minor=_TOTAL, currency=EUR),
            shipping_address=_ADDRESS,
            payment_token=TEST_TOKEN,
            placed_at=T0 - timedelta(milliseconds=40),
            sales_channel=UPSTREAM,
        ),
        checkout.OrderPlaced(
            order_id=ORDER_ID,
            customer_id="cus_2f81c0",
            lines=_LINES_V4,
            discounts=[_COUPON],
            total=Money(
                amount_minor=_TOTAL - _COUPON.amount_minor + _DELIVERY.price_minor, currency=EUR
            ),
            shipping_address=_ADDRESS,
            payment_token=TEST_TOKEN,
            placed_at=T0 - timedelta(milliseconds=40),
            sales_channel=UPSTREAM,
            delivery=_DELIVERY,
        ),
        inbound.CancelOrder(reference=REFERENCE, reason="customer changed their mind"),
        checkout.OrderCancellationRequested(
            order_id=ORDER_ID, reference=REFERENCE, reason="customer changed their mind"
        ),
        inbound.OrderCancellationAccepted(reference=REFERENCE, order_id=ORDER_ID),
        inbound.OrderCancellationRefused(
            reference=REFERENCE,
            order_id=ORDER_ID,
            reasons=[inbound.Reason(field="order", reason="the order was already dispatched")],
        ),
        promotions.RedeemPromotions(
            order_id=ORDER_ID, customer_id="cus_2f81c0", promotion_ids=[_COUPON.promotion_id]
        ),
        promotions.PromotionsRedeemed(order_id=ORDER_ID, promotion_ids=[_COUPON.promotion_id]),
        promotions.PromotionRedemptionRefused(
            order_id=ORDER_ID,
            promotion_id=_COUPON.promotion_id,
            reason="spring-tees has no use left for this customer",
        ),
        promotions.ReleasePromotions(
            order_id=ORDER_ID, promotion_ids=[_COUPON.promotion_id], reason="payment declined"
        ),
        promotions.PromotionsReleased(order_id=ORDER_ID, promotion_ids=[_COUPON.promotion_id]),
        inventory.ReserveStock(order_id=ORDER_ID, lines=_STOCK),
        inventory.StockReserved(order_id=ORDER_ID, lines=_STOCK),
        inventory.StockLevelChanged(sku=hoodie.sku, available=41, revision=7),
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
        shipping.CreateShipment(
            order_id=ORDER_ID,
            address=_ADDRESS,
            lines=_STOCK,
            method_id=_DELIVERY.method_id,
            carrier=_DELIVERY.carrier,
        ),
        shipping.ShipmentCreated(
            order_id=ORDER_ID,
            shipment_id=SHIPMENT_ID,
            carrier="SimPost",
            tracking_number=f"SP{UUID(SHIPMENT_ID).hex[-12:].upper()}",
        ),
        shipping.ShipmentFailed(order_id=ORDER_ID, reason="carrier rejected the address"),
        payment.CapturePayment(
            order_id=ORDER_ID,
            amount_minor=_TOTAL - _COUPON.amount_minor + _DELIVERY.price_minor,
            currency=EUR,
            idempotency_key=_key("capture"),
            invoice=payment.InvoiceDraft(
                customer_id="cus_2f81c0",
                country=_ADDRESS.country,
                lines=[
                    payment.InvoiceLine(
                        sku=line.sku,
                        quantity=line.quantity,
                        unit_price_minor=line.unit_price.amount_minor,
                        discount_minor=line.discount_minor,
                    )
                    for line in _LINES_V4
                ],
                delivery_minor=_DELIVERY.price_minor,
                delivery_method=_DELIVERY.method_id,
            ),
        ),
        payment.PaymentCaptured(order_id=ORDER_ID, amount_minor=_TOTAL, currency=EUR),
        payment.PaymentCaptureFailed(order_id=ORDER_ID, reason="capture_declined"),
        inventory.CommitStock(order_id=ORDER_ID),
        inventory.StockCommitted(order_id=ORDER_ID),
        orders.OrderCompleted(order_id=ORDER_ID, total_minor=_TOTAL),
        shipping.ShipmentDispatched(order_id=ORDER_ID, shipment_id=SHIPMENT_ID),
        shipping.ShipmentDelivered(order_id=ORDER_ID, shipment_id=SHIPMENT_ID),
        shipping.TrackingUpdated(
            order_id=ORDER_ID,
            shipment_id=SHIPMENT_ID,
            carrier="SimPost",
            tracking_number=f"SP{UUID(SHIPMENT_ID).hex[-12:].upper()}",
            sequence=3,
            status="out_for_delivery",
            at=T0 + timedelta(hours=20),
            eta=T0 + timedelta(hours=23),
        ),
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
        *_return_examples(hoodie.sku),
    )


RETURN_ID = "R-5b1e0c9d7a2f4e38"


def _return_examples(sku: str) -> tuple[Message, ...]:
    """One return of one hoodie, from approval to restock."""
    returned = [StockLine(sku=sku, quantity=1)]
    label = f"RL{RETURN_ID[-12:].upper()}"
    return (
        shipping.CreateReturnLabel(
            return_id=RETURN_ID, order_id=ORDER_ID, address=_ADDRESS, lines=returned,
            carrier="SimPost",
        ),
        shipping.ReturnLabelCreated(
            return_id=RETURN_ID, order_id=ORDER_ID, carrier="SimPost", tracking_number=label
        ),
        shipping.ReturnLabelRefused(
            return_id=RETURN_ID, order_id=ORDER_ID, reason="the carrier does not collect there"
        ),
        shipping.CancelReturnLabel(
            return_id=RETURN_ID, order_id=ORDER_ID, reason="parcel not received in time"
        ),
        shipping.ReturnLabelCancelled(return_id=RETURN_ID, order_id=ORDER_ID),
        inventory.RestockReturn(
            return_id=RETURN_ID, order_id=ORDER_ID,
            lines=[inventory.ReturnedLine(sku=sku, quantity=1, disposition="restock")],
        ),
        inventory.ReturnRestocked(
            return_id=RETURN_ID, order_id=ORDER_ID,
            lines=[inventory.ReturnedLine(sku=sku, quantity=1, disposition="restock")],
        ),
        orders.ReturnUpdated(
            return_id=RETURN_ID, order_id=ORDER_ID, status="completed", lines=returned,
            refund_minor=4500, tracking_number=label,
        ),
    )  # fmt: skip
