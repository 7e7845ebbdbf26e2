"""The redemption step: an order with limited promotions redeems them first; refused,
it is rejected with nothing to undo; whatever fails later releases them (last), and a
rejection by stock after the redemption ends REJECTED once they are released."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from orderflow_contracts import topics
from orderflow_contracts.promotions import PromotionsRedeemed, ReleasePromotions
from orders.saga.state import Facts, SagaStatus, Step
from orders.saga.transitions import LEGAL_TRANSITIONS, Outcome, on_reply, on_timeout, start

from .saga_builders import OID, ORDER, POLICY, REPLIES, T0, WITH_COUPON, terminal

S = SagaStatus
LATER = T0 + timedelta(seconds=1)


def commands(outcome: Outcome) -> list[str]:
    return [message.TYPE for _, message in outcome.commands]


def events(outcome: Outcome) -> list[str]:
    return [message.TYPE for message in outcome.events]


def redeemed() -> Outcome:
    started = start(OID, WITH_COUPON, T0, POLICY)
    return on_reply(started.saga, REPLIES["PromotionsRedeemed"], LATER, POLICY)


def test_an_order_with_limited_promotions_redeems_them_first() -> None:
    started = start(OID, WITH_COUPON, T0, POLICY)
    assert started.saga.step is Step.REDEEM_PROMOTIONS
    ((topic, command),) = started.commands
    assert topic == "promotions.commands"
    assert command.model_dump() == {
        "order_id": OID, "customer_id": "c1", "promotion_ids": ["ten"]
    }  # fmt: skip
    moved = redeemed()
    assert (moved.saga.step, commands(moved)) == (Step.RESERVE_STOCK, ["ReserveStock"])
    assert moved.saga.facts == Facts(promotions_redeemed=True)
    assert start(OID, ORDER, T0, POLICY).saga.step is Step.RESERVE_STOCK  # none: no step


def test_a_refused_redemption_rejects_the_order_with_nothing_to_undo() -> None:
    started = start(OID, WITH_COUPON, T0, POLICY)
    refused = on_reply(started.saga, REPLIES["PromotionRedemptionRefused"], LATER, POLICY)
    assert refused.saga.status is S.REJECTED
    assert (commands(refused), events(refused)) == ([], ["OrderRejected"])
    assert refused.saga.reason == "promotion refused: ten has no use left"


def test_stock_refused_after_the_redemption_releases_then_rejects() -> None:
    releasing = on_reply(redeemed().saga, REPLIES["StockReservationFailed"], LATER, POLICY)
    assert (releasing.saga.status, releasing.saga.step) == (S.COMPENSATING, Step.RELEASE_PROMOTIONS)
    assert commands(releasing) == ["ReleasePromotions"]
    assert events(releasing) == []
    done = on_reply(releasing.saga, REPLIES["PromotionsReleased"], LATER, POLICY)
    assert done.saga.status is S.REJECTED
    assert events(done) == ["OrderRejected"]
    assert done.saga.reason == "insufficient stock: TEE-BLK-M"
    assert (S.COMPENSATING, S.REJECTED) in LEGAL_TRANSITIONS


def test_a_later_failure_releases_the_promotions_last() -> None:
    reserved = on_reply(redeemed().saga, REPLIES["StockReserved"], LATER, POLICY)
    declined = on_reply(reserved.saga, REPLIES["PaymentDeclined"], LATER, POLICY)
    assert commands(declined) == ["ReleaseStock"]
    assert declined.saga.compensations == (Step.RELEASE_PROMOTIONS,)
    released = on_reply(declined.saga, REPLIES["StockReleased"], LATER, POLICY)
    assert commands(released) == ["ReleasePromotions"]
    done = on_reply(released.saga, REPLIES["PromotionsReleased"], LATER, POLICY)
    assert (done.saga.status, events(done)) == (S.CANCELLED, ["OrderCancelled"])


def test_a_redemption_that_keeps_timing_out_is_released_in_case_it_happened() -> None:
    saga = start(OID, WITH_COUPON, T0, POLICY).saga
    now = T0
    for _ in range(POLICY.step_retries):
        now = saga.deadline or now
        saga = on_timeout(saga, now, POLICY).saga
    gave_up = on_timeout(saga, saga.deadline or now, POLICY)
    assert gave_up.saga.status is S.COMPENSATING
    assert commands(gave_up) == ["ReleasePromotions"]


def test_a_late_redemption_after_giving_up_is_released() -> None:
    cancelled = terminal(S.CANCELLED)
    late = on_reply(
        replace(cancelled, order=WITH_COUPON), REPLIES["PromotionsRedeemed"], LATER, POLICY
    )
    assert commands(late) == ["ReleasePromotions"]
    # A resend after the release went out: released again (the participant answers alike).
    assert commands(on_reply(late.saga, REPLIES["PromotionsRedeemed"], LATER, POLICY)) == [
        "ReleasePromotions"
    ]


def test_a_redemption_in_the_name_of_an_order_without_promotions_is_given_back() -> None:
    # Released by the ids the reply names once the saga has ended: it never will.
    reply = PromotionsRedeemed(order_id=OID, promotion_ids=["stray", "ten"])
    for saga in (terminal(S.CANCELLED), terminal(S.COMPLETED)):
        assert not saga.order.promotions
        outcome = on_reply(saga, reply, LATER, POLICY)
        [(topic, release)] = outcome.commands
        assert topic == topics.PROMOTIONS_COMMANDS
        assert isinstance(release, ReleasePromotions)
        assert (release.order_id, release.promotion_ids) == (OID, ["stray", "ten"])
