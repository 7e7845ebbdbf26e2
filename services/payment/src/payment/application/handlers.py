"""Payment use cases. Every command is answered, also when it is a resend, and money never
moves twice:

1. the order is locked, and a command whose idempotency key is done is answered again
   from the stored reply, with no gateway call;
2. before any gateway call, the key is committed ``pending`` in its own transaction; the
   gateway is idempotent by that key, so a retry after a crash or a transient fault
   repeats the call safely and gets the first call's result back;
3. the outcome, the reply (outbox) and the key turned ``done`` commit together.

An authorization the gateway has not answered (timeout, slow issuer) leaves the key
pending and sends no reply; ``complete_pending_authorization`` asks again later.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

import structlog

from orderflow_contracts import topics
from orderflow_contracts.payment import (
    AuthorizePayment,
    CapturePayment,
    RefundPayment,
    VoidPayment,
)
from orderflow_messaging.crash import crashpoint
from orderflow_messaging.errors import PermanentFailure, TransientFailure
from payment.adapters.idempotency import KeyedRequest, KeyState
from payment.application.ports import GatewayConflict, GatewayTimeout, GatewayUnavailable
from payment.application.replies import LOG_EVENTS, reply_message, stored_message
from payment.application.unit_of_work import PaymentUnitOfWork, UnitOfWorkFactory
from payment.domain.decisions import (
    apply_result,
    decide_authorize,
    decide_capture,
    decide_refund,
    decide_void,
)
from payment.domain.model import (
    Call,
    Decision,
    GatewayResult,
    Payment,
    PaymentError,
    PaymentStatus,
)

log = structlog.get_logger(__name__)

Command = AuthorizePayment | CapturePayment | VoidPayment | RefundPayment
# (payment, an authorization is in flight) -> decision
Decide = Callable[[Payment | None, bool], Decision]


def keyed(operation: Call, cmd: Command) -> KeyedRequest:
    """The key, and a fingerprint of everything else the command asks for."""
    canonical = json.dumps(
        {"type": cmd.TYPE, **cmd.model_dump(mode="json")}, sort_keys=True, separators=(",", ":")
    )
    fingerprint = hashlib.sha256(canonical.encode()).hexdigest()
    return KeyedRequest(cmd.idempotency_key, operation, cmd.order_id, fingerprint)


async def authorize_payment(uow: PaymentUnitOfWork, cmd: AuthorizePayment) -> None:
    def decide(payment: Payment | None, _: bool) -> Decision:
        return decide_authorize(
            payment, cmd.order_id, cmd.amount_minor, cmd.currency, cmd.payment_token
        )

    await _run(uow, keyed(Call.AUTHORIZE, cmd), decide)


async def capture_payment(uow: PaymentUnitOfWork, cmd: CapturePayment) -> None:
    def decide(payment: Payment | None, _: bool) -> Decision:
        return decide_capture(payment, cmd.amount_minor, cmd.currency)

    await _run(uow, keyed(Call.CAPTURE, cmd), decide)


async def void_payment(uow: PaymentUnitOfWork, cmd: VoidPayment) -> None:
    def decide(payment: Payment | None, in_flight: bool) -> Decision:
        return decide_void(payment, cmd.order_id, authorization_in_flight=in_flight)

    await _run(uow, keyed(Call.VOID, cmd), decide)


async def refund_payment(uow: PaymentUnitOfWork, cmd: RefundPayment) -> None:
    def decide(payment: Payment | None, in_flight: bool) -> Decision:
        return decide_refund(
            payment, cmd.order_id, cmd.amount_minor, cmd.currency, authorization_in_flight=in_flight
        )

    await _run(uow, keyed(Call.REFUND, cmd), decide)


async def _run(uow: PaymentUnitOfWork, request: KeyedRequest, decide: Decide) -> None:
    await uow.payments.lock_order(request.order_id)
    state = await uow.load(request)
    stored, payment, in_flight = state.stored, state.payment, state.in_flight
    if stored is not None and stored.request != request:
        raise PermanentFailure(
            f"idempotency key of {request.operation.value} for {request.order_id} "
            f"was used before for a different request"
        )
    if stored is not None and stored.state is KeyState.DONE:
        await _answer_again(uow, request, stored.reply_type, stored.reply_payload)
        return
    try:
        decision = decide(payment, in_flight is not None)
        completes = [request]
        if decision.call is not None:
            via = request
            if decision.call is Call.AUTHORIZE and in_flight is not None:
                # One authorization per order: continue the open one under its own key.
                via = in_flight
            if via == request and stored is None:
                await uow.commit_pending_key(request)
            completes = list(dict.fromkeys([request, via]))
            decision = await _call(uow, decision, via.key)
    except PaymentError as exc:
        raise PermanentFailure(str(exc)) from exc
    await _conclude(uow, request.order_id, payment, decision, completes)


async def _answer_again(
    uow: PaymentUnitOfWork,
    request: KeyedRequest,
    reply_type: str | None,
    payload: dict[str, Any] | None,
) -> None:
    assert reply_type is not None, "a done key has its reply"
    assert payload is not None
    message = stored_message(reply_type, payload)
    await uow.outbox.put(topics.PAYMENT_EVENTS, message, correlation_id=request.order_id)
    log.info(
        "payment_reply_repeated",
        order_id=request.order_id,
        operation=request.operation.value,
        reply=reply_type,
    )


async def _call(uow: PaymentUnitOfWork, decision: Decision, key: str) -> Decision:
    """Make the decided gateway call; returns the decision on its result."""
    call, amount, start = decision.call, decision.call_amount_minor, decision.payment
    assert call is not None
    assert start is not None, "a call starts from a payment"
    try:
        # Fault tests: the key is committed pending; the gateway was / was not called yet.
        crashpoint("payment.before_gateway")
        result = await _gateway_call(uow, start, call, amount, key)
        crashpoint("payment.after_gateway")
    except GatewayTimeout as exc:
        if call is not Call.AUTHORIZE:
            raise TransientFailure(f"gateway timed out on {call.value}") from exc
        # It may have authorized: the authorization stays open, to be asked about again.
        result = GatewayResult.pending()
    except GatewayUnavailable as exc:
        log.warning("gateway_unavailable", order_id=start.order_id, call=call.value)
        raise TransientFailure(f"gateway unavailable on {call.value}") from exc
    except GatewayConflict as exc:
        raise PermanentFailure(str(exc)) from exc
    return apply_result(start, call, amount, result)


async def _gateway_call(
    uow: PaymentUnitOfWork, payment: Payment, call: Call, amount: int, key: str
) -> GatewayResult:
    gateway, order_id = uow.gateway, payment.order_id
    if call is Call.VOID:
        return await gateway.void(key, order_id)
    assert payment.currency is not None
    if call is Call.AUTHORIZE:
        assert payment.token is not None
        return await gateway.authorize(key, order_id, amount, payment.currency, payment.token)
    assert payment.authorization_id is not None, "captured or refunded without authorization"
    if call is Call.CAPTURE:
        return await gateway.capture(
            key, order_id, payment.authorization_id, amount, payment.currency
        )
    return await gateway.refund(key, order_id, payment.authorization_id, amount, payment.currency)


async def _conclude(
    uow: PaymentUnitOfWork,
    order_id: str,
    before: Payment | None,
    decision: Decision,
    completes: list[KeyedRequest],
) -> None:
    after = decision.payment or before
    if decision.payment is not None and decision.payment != before:
        await uow.payments.save(decision.payment, uow.clock())
    if decision.answer is None:
        log.info("payment_authorization_pending", order_id=order_id)
        return
    message = reply_message(order_id, after, decision.answer)
    await uow.outbox.put(topics.PAYMENT_EVENTS, message, correlation_id=order_id)
    payload = message.model_dump(mode="json")
    for request in completes:
        await uow.keys.record_done(request, message.TYPE, payload)
    log.info(LOG_EVENTS[decision.answer.reply], **payload)


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
    start = Decision(payment, call=Call.AUTHORIZE, call_amount_minor=payment.amount_minor)
    try:
        decision = await _call(uow, start, opened.key)
    except PaymentError as exc:
        raise PermanentFailure(str(exc)) from exc
    if decision.answer is None:
        return False
    await _conclude(uow, order_id, payment, decision, [opened])
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
