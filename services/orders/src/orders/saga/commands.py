"""The command each step sends. Resends are identical, so participants can dedupe by
business key and the payment idempotency keys never change for one order."""

from __future__ import annotations

from collections.abc import Sequence

from orderflow_contracts import topics
from orderflow_contracts.common import Address, StockLine
from orderflow_contracts.inventory import CommitStock, ReleaseStock, ReserveStock
from orderflow_contracts.payment import (
    AuthorizePayment,
    CapturePayment,
    InvoiceDraft,
    InvoiceLine,
    RefundPayment,
    VoidPayment,
)
from orderflow_contracts.promotions import RedeemPromotions, ReleasePromotions
from orderflow_contracts.shipping import CancelShipment, CreateShipment
from orderflow_messaging.registry import Message
from orders.saga.state import OrderData, Saga, Step

Command = tuple[str, Message]


def idempotency_key(order_id: str, operation: str) -> str:
    return f"{order_id}:{operation}"


def _stock_lines(saga: Saga) -> list[StockLine]:
    """The order's stock, a bundle as its components; a SKU on several lines (or in
    several bundles) once, with their sum: one reservation, all or none."""
    wanted: dict[str, int] = {}
    for line in saga.order.lines:
        for sku, quantity in line.stock():
            wanted[sku] = wanted.get(sku, 0) + quantity
    return [StockLine(sku=sku, quantity=quantity) for sku, quantity in wanted.items()]


def release_promotions(saga: Saga, promotion_ids: Sequence[str]) -> Command:
    """Give back the uses of ``promotion_ids`` held in the order's name."""
    release = ReleasePromotions(
        order_id=saga.order_id,
        promotion_ids=list(promotion_ids),
        reason=saga.reason or "compensation",
    )
    return topics.PROMOTIONS_COMMANDS, release


def command_for(saga: Saga, step: Step) -> Command:
    order_id, order = saga.order_id, saga.order
    reason = saga.reason or "compensation"
    match step:
        case Step.REDEEM_PROMOTIONS:
            return topics.PROMOTIONS_COMMANDS, RedeemPromotions(
                order_id=order_id, customer_id=order.customer_id,
                promotion_ids=list(order.promotions),
            )  # fmt: skip
        case Step.RELEASE_PROMOTIONS:
            return release_promotions(saga, order.promotions)
        case Step.RESERVE_STOCK:
            return topics.INVENTORY_COMMANDS, ReserveStock(
                order_id=order_id, lines=_stock_lines(saga)
            )
        case Step.AUTHORIZE_PAYMENT:
            return topics.PAYMENT_COMMANDS, AuthorizePayment(
                order_id=order_id,
                amount_minor=order.total_minor,
                currency=order.currency,
                payment_token=order.payment_token,
                idempotency_key=idempotency_key(order_id, "authorize"),
            )
        case Step.CREATE_SHIPMENT:
            return topics.SHIPPING_COMMANDS, CreateShipment(
                order_id=order_id,
                address=Address.model_validate(order.address),
                lines=_stock_lines(saga),
                method_id=order.delivery_method,
                carrier=order.carrier,
            )
        case Step.CAPTURE_PAYMENT:
            return topics.PAYMENT_COMMANDS, CapturePayment(
                order_id=order_id,
                amount_minor=order.total_minor,
                currency=order.currency,
                idempotency_key=idempotency_key(order_id, "capture"),
                invoice=invoice_draft(order),
            )
        case Step.COMMIT_STOCK:
            return topics.INVENTORY_COMMANDS, CommitStock(order_id=order_id)
        case Step.CANCEL_SHIPMENT:
            return topics.SHIPPING_COMMANDS, CancelShipment(order_id=order_id, reason=reason)
        case Step.VOID_PAYMENT:
            return topics.PAYMENT_COMMANDS, VoidPayment(
                order_id=order_id, idempotency_key=idempotency_key(order_id, "void")
            )
        case Step.REFUND_PAYMENT:
            return topics.PAYMENT_COMMANDS, RefundPayment(
                order_id=order_id,
                amount_minor=order.total_minor,
                currency=order.currency,
                idempotency_key=idempotency_key(order_id, "refund"),
            )
        case Step.RELEASE_STOCK:
            return topics.INVENTORY_COMMANDS, ReleaseStock(order_id=order_id, reason=reason)


def invoice_draft(order: OrderData) -> InvoiceDraft:
    """What the capture's invoice shows: the lines as charged, the delivery, and the
    country of the address the parcel goes to (whose tax applies)."""
    return InvoiceDraft(
        customer_id=order.customer_id,
        country=order.address["country"],
        lines=[
            InvoiceLine(
                sku=line.sku, quantity=line.quantity, unit_price_minor=line.unit_price_minor,
                discount_minor=line.discount_minor,
            )
            for line in order.lines
        ],
        delivery_minor=order.delivery_minor,
        delivery_method=order.delivery_method,
    )  # fmt: skip
