"""The wire shape of ``POST /orders`` and its translation into a domain draft.

Only the shape is checked here (JSON types, required fields, no unknown fields); the
business rules are the domain's (``checkout.domain.rules``). A body of the wrong shape
is refused with the shape problems alone, since rules cannot be checked on it.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, ValidationError

from checkout.domain.model import (
    AddressDraft,
    DeliveryDraft,
    LineDraft,
    Order,
    OrderDraft,
    Problem,
)

# strict: "3" is not a quantity, and a JSON number is not a SKU.
_SHAPE = ConfigDict(extra="forbid", strict=True)


class LineIn(BaseModel):
    model_config = _SHAPE

    sku: str
    quantity: int


class AddressIn(BaseModel):
    model_config = _SHAPE

    name: str
    line1: str
    city: str
    postcode: str
    country: str


class DeliveryIn(BaseModel):
    model_config = _SHAPE

    method: str
    pickup_point: str | None = None


class OrderIn(BaseModel):
    model_config = _SHAPE

    customer_id: str
    lines: list[LineIn]
    shipping_address: AddressIn
    payment_token: str
    currency: str = "EUR"
    coupons: list[str] = []  # coupon codes (any case); each must apply, else a 422
    # The delivery method chosen (and, for a pickup method, its point): priced and added
    # to the total, else a 422 naming delivery.method or delivery.pickup_point.
    delivery: DeliveryIn | None = None

    def to_draft(self) -> OrderDraft:
        return OrderDraft(
            customer_id=self.customer_id,
            lines=tuple(LineDraft(line.sku, line.quantity) for line in self.lines),
            shipping_address=AddressDraft(**self.shipping_address.model_dump()),
            payment_token=self.payment_token,
            currency=self.currency,
            coupons=tuple(self.coupons),
            delivery=DeliveryDraft(**self.delivery.model_dump()) if self.delivery else None,
        )


def field_path(loc: Sequence[int | str]) -> str:
    """``("lines", 1, "sku")`` -> ``"lines[1].sku"``; the whole body is ``"body"``."""
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else part)
    return path or "body"


def parse_order(body: bytes) -> OrderDraft | list[Problem]:
    """The draft in ``body``, or every shape problem of it."""
    try:
        return OrderIn.model_validate_json(body).to_draft()
    except ValidationError as exc:
        # Only the message, never pydantic's "input": it could be the token or address.
        return [Problem(field_path(e["loc"]), e["msg"]) for e in exc.errors()]


class ReorderIn(BaseModel):
    """``POST /orders/{id}/reorder``: where to and how to pay this time (checkout keeps
    neither an address nor a token of a past order); the lines are the past order's."""

    model_config = _SHAPE

    shipping_address: AddressIn
    payment_token: str
    coupons: list[str] = []
    delivery: DeliveryIn | None = None

    def to_draft(self, previous: Order, lines: tuple[LineDraft, ...]) -> OrderDraft:
        return OrderDraft(
            customer_id=previous.customer_id,
            lines=lines,
            shipping_address=AddressDraft(**self.shipping_address.model_dump()),
            payment_token=self.payment_token,
            currency=previous.currency,
            coupons=tuple(self.coupons),
            delivery=DeliveryDraft(**self.delivery.model_dump()) if self.delivery else None,
        )


def parse_reorder(body: bytes) -> ReorderIn | list[Problem]:
    try:
        return ReorderIn.model_validate_json(body)
    except ValidationError as exc:
        return [Problem(field_path(e["loc"]), e["msg"]) for e in exc.errors()]
