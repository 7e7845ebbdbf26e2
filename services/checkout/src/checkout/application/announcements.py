"""What checkout tells the others about an order it placed (HTTP and the door alike)."""

from __future__ import annotations

from dataclasses import asdict

from checkout.domain.model import Order, OrderDraft, OrderLine
from checkout.domain.model import OrderDelivery as OrderDeliveryChosen
from orderflow_contracts.checkout import OrderPlaced, OrderPlacedV1, OrderPlacedV2, OrderPlacedV3
from orderflow_contracts.common import (
    Address,
    Money,
    OrderDelivery,
    OrderDiscount,
    PricedLine,
    PricedLineV2,
    PricedLineV3,
    PricedLineV4,
    StockLine,
)
from orderflow_messaging.registry import Message


def order_placed(
    order: Order, draft: OrderDraft, version: int, sales_channel: str | None = None
) -> Message:
    """OrderPlaced of ``version`` (4, or 3, 2 or 1 while its consumers migrate; their
    total includes the delivery's price, which only v4 itemises)."""
    address = Address(**asdict(draft.shipping_address))
    if version == 1:
        return OrderPlacedV1(
            order_id=order.order_id,
            customer_id=order.customer_id,
            lines=[
                PricedLine(sku=ln.sku, quantity=ln.quantity, unit_price_minor=ln.unit_price_minor)
                for ln in order.lines
            ],
            currency=order.currency,
            total_minor=order.total_minor,
            shipping_address=address,
            payment_token=draft.payment_token,
            placed_at=order.created_at,
        )
    total = Money(amount_minor=order.total_minor, currency=order.currency)
    if version == 2:
        return OrderPlacedV2(
            order_id=order.order_id, customer_id=order.customer_id,
            lines=[
                PricedLineV2(sku=ln.sku, quantity=ln.quantity, unit_price=_unit(order, ln))
                for ln in order.lines
            ],
            total=total, shipping_address=address, payment_token=draft.payment_token,
            placed_at=order.created_at, sales_channel=sales_channel,
        )  # fmt: skip
    if version == 3:
        return OrderPlacedV3(
            order_id=order.order_id, customer_id=order.customer_id,
            lines=[
                PricedLineV3(
                    sku=ln.sku, quantity=ln.quantity, unit_price=_unit(order, ln),
                    price_source=ln.price_source, price_rule=ln.price_rule,
                )
                for ln in order.lines
            ],
            total=total, shipping_address=address, payment_token=draft.payment_token,
            placed_at=order.created_at, sales_channel=sales_channel,
        )  # fmt: skip
    return OrderPlaced(
        order_id=order.order_id, customer_id=order.customer_id,
        lines=[
            PricedLineV4(
                sku=ln.sku, quantity=ln.quantity, unit_price=_unit(order, ln),
                price_source=ln.price_source, price_rule=ln.price_rule,
                discount_minor=ln.discount_minor, promotions=[pid for pid, _ in ln.discounts],
                components=[StockLine(sku=sku, quantity=q) for sku, q in ln.components] or None,
            )
            for ln in order.lines
        ],
        discounts=[
            OrderDiscount(
                promotion_id=d.promotion_id, code=d.code, amount_minor=d.amount_minor,
                limited=d.limited,
            )
            for d in order.discounts
        ],
        total=total, shipping_address=address, payment_token=draft.payment_token,
        placed_at=order.created_at, sales_channel=sales_channel,
        delivery=_delivery(order.delivery, address.name),
    )  # fmt: skip


def _delivery(delivery: OrderDeliveryChosen | None, customer: str) -> OrderDelivery | None:
    """A pickup parcel is addressed to the customer at the point."""
    if delivery is None:
        return None
    point = delivery.pickup_point
    address = None
    if point is not None:
        address = Address(
            name=customer, line1=f"{point.name}, {point.line1}"[:200], city=point.city,
            postcode=point.postcode, country=point.country,
        )  # fmt: skip
    return OrderDelivery(
        method_id=delivery.method_id, kind=delivery.kind, carrier=delivery.carrier,
        price_minor=delivery.price_minor, zone=delivery.zone, weight_g=delivery.weight_g,
        free=delivery.free, pickup_point=point.point_id if point is not None else None,
        pickup_address=address,
    )  # fmt: skip


def _unit(order: Order, line: OrderLine) -> Money:
    return Money(amount_minor=line.unit_price_minor, currency=order.currency)
