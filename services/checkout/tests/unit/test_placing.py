"""The decision HTTP and the upstream door share: answer a known key again, or check
every rule and price a new order."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from checkout.domain.idempotency import fingerprint
from checkout.domain.model import AddressDraft, CatalogItem, LineDraft, OrderDraft, Problem
from checkout.domain.placing import KeyReused, Placed, Rejected, answer_again, place_new

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
CATALOG = {"TEE": CatalogItem("TEE", "Tee", 1990, "EUR")}
DRAFT = OrderDraft(
    customer_id="c-1",
    lines=(LineDraft("TEE", 2),),
    shipping_address=AddressDraft("Ada", "1 Way", "London", "N1", "GB"),
    payment_token="tok_visa",
)


class Ids:
    drawn = 0

    def __call__(self) -> str:
        self.drawn += 1
        return f"order-{self.drawn}"


def test_a_new_order_is_priced_and_gets_the_next_id() -> None:
    ids = Ids()
    outcome = place_new("k", DRAFT, CATALOG, new_id=ids, now=NOW)
    assert isinstance(outcome, Placed)
    assert outcome.new
    order = outcome.order
    assert (order.order_id, order.idempotency_key, order.total_minor) == ("order-1", "k", 3980)
    assert (order.request_fingerprint, order.created_at) == (fingerprint(DRAFT), NOW)


def test_a_refusal_lists_the_rules_then_the_callers_problems_and_draws_no_id() -> None:
    ids = Ids()
    policy = [Problem("lines[0].expected_unit_price", "price of TEE is 1990 EUR")]
    draft = replace(DRAFT, payment_token="card")
    outcome = place_new("k", draft, CATALOG, new_id=ids, now=NOW, more_problems=policy)
    assert outcome == Rejected(
        [Problem("payment_token", "must match ^tok_[a-z0-9_]{1,60}$"), *policy]
    )
    assert ids.drawn == 0


def test_a_known_key_answers_its_order_or_refuses_a_different_request() -> None:
    placed = place_new("k", DRAFT, CATALOG, new_id=Ids(), now=NOW)
    assert isinstance(placed, Placed)
    assert answer_again(placed.order, fingerprint(DRAFT)) == Placed(placed.order, new=False)
    other = replace(DRAFT, customer_id="c-2")
    assert answer_again(placed.order, fingerprint(other)) == KeyReused("order-1")
