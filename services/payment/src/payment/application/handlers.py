"""Payment use cases outside the consumer (the consumer's are in ``batch``): the timer
that asks the gateway again about authorizations it has not answered yet.

It runs under the same per-order lock as the consumer's batches, so an order's timer
check and its commands never interleave; an answer turns the open key ``done`` together
with the payment and the reply (outbox), in one transaction.
"""

from __future__ import annotations

import structlog

from orderflow_contracts import topics
from orderflow_messaging.crash import crashpoint
from orderflow_messaging.errors import PermanentFailure
from payment.adapters.idempotency import KeyedRequest
from payment.application.calls import call_gateway
from payment.application.replies import LOG_EVENTS, reply_message
from payment.application.unit_of_work import PaymentUnitOfWork, UnitOfWorkFactory
from payment.domain.decisions import apply_result
from payment.domain.model import Call, Decision, Payment, PaymentError, PaymentStatus

log = structlog.get_logger(__name__)


async def _call(uow: PaymentUnitOfWork, payment: Payment, key: str) -> Decision:
    """Ask about the authorization again; returns the decision on the answer."""
    # Fault tests: the key is committed pending; the gateway was / was not called yet.
    crashpoint("payment.before_gateway")
    result = await call_gateway(uow.gateway, payment, Call.AUTHORIZE, payment.amount_minor, key)
    crashpoint("payment.after_gateway")
    try:
        return apply_result(payment, Call.AUTHORIZE, payment.amount_minor, result)
    except PaymentError as exc:
        raise PermanentFailure(str(exc)) from exc


async def _conclude(
    uow: PaymentUnitOfWork, before: Payment, decision: Decision, opened: KeyedRequest
) -> None:
    order_id = before.order_id
    after = decision.payment or before
    if after != before:
        await uow.payments.save(after, uow.clock())
    assert decision.answer is not None
    message = reply_message(order_id, after, decision.answer)
    await uow.outbox.put(topics.PAYMENT_EVENTS, message, correlation_id=order_id)
    payload = message.model_dump(mode="json")
    await uow.keys.record_done(opened, message.TYPE, payload)
    log.info(LOG_EVENTS[message.TYPE], **payload)


async def complete_pending_authorization(uow: PaymentUnitOfWork, order_id: str) -> bool:
    """Ask the gateway again about an unanswered authorization; True when it answered."""
    await uow.payments.lock_order(order_id)
    payment = await uow.payments.get(order_id)
    if payment is None or payment.status is not PaymentStatus.AUTHORIZATION_PENDING:
        return False  # voided (or answered) meanwhile: nothing late is ever sent
    opened = await uow.keys.open_request(order_id, Call.AUTHORIZE)
    if opened is None:
        log.warning("pending_authorization_without_key", order_id=order_id)
        return False
    decision = await _call(uow, payment, opened.key)
    if decision.answer is None:
        return False
    await _conclude(uow, payment, decision, opened)
    return True


async def complete_pending_authorizations(start: UnitOfWorkFactory, limit: int = 100) -> int:
    """One transaction per order, so that one order's fault never holds back the rest."""
    async with start() as uow:
        order_ids = await uow.payments.authorization_pending(limit)
    completed = 0
    for order_id in order_ids:
        try:
            async with start() as uow:
                completed += await complete_pending_authorization(uow, order_id)
        except Exception as exc:
            log.warning("pending_authorization_check_failed", order_id=order_id, error=repr(exc))
    return completed
