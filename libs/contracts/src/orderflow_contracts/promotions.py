"""promotions.commands and promotions.events (key: order id): redemptions of limited
promotions, the saga's first step for an order that has any. The catalog service owns
the promotions and counts their redemptions."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from orderflow_contracts.common import CustomerId, OrderId, PromotionId
from orderflow_messaging.registry import Message

Reason = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Promotions = Annotated[list[PromotionId], Field(min_length=1, max_length=10)]


class RedeemPromotions(Message):
    """Reserve one use of each promotion for the order, all or none."""

    TYPE = "RedeemPromotions"
    VERSION = 1
    order_id: OrderId
    customer_id: CustomerId
    promotion_ids: Promotions


class ReleasePromotions(Message):
    """Give the order's uses back (also of a redemption not reserved yet: it never will
    be)."""

    TYPE = "ReleasePromotions"
    VERSION = 1
    order_id: OrderId
    promotion_ids: Promotions
    reason: Reason


class PromotionsRedeemed(Message):
    TYPE = "PromotionsRedeemed"
    VERSION = 1
    order_id: OrderId
    promotion_ids: Promotions


class PromotionRedemptionRefused(Message):
    """Nothing reserved: ``promotion_id`` has no use left (in all, or for the customer),
    or is withdrawn or unknown."""

    TYPE = "PromotionRedemptionRefused"
    VERSION = 1
    order_id: OrderId
    promotion_id: PromotionId
    reason: Reason


class PromotionsReleased(Message):
    TYPE = "PromotionsReleased"
    VERSION = 1
    order_id: OrderId
    promotion_ids: Promotions


COMMANDS: tuple[type[Message], ...] = (RedeemPromotions, ReleasePromotions)
EVENTS: tuple[type[Message], ...] = (
    PromotionsRedeemed,
    PromotionRedemptionRefused,
    PromotionsReleased,
)
