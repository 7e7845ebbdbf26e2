"""A consumer batch of payment commands, in memory. Pure: no I/O, no await.

The batch is worked through in rounds (``rounds``): round k holds the k-th command of
every order of the batch, so each order still sees its commands one after the other,
while the commands of one round belong to different orders and their gateway calls can
run side by side. ``PaymentBook.decide`` decides one command from the state the earlier
rounds left: an answer now, or a gateway call to make first (``GatewayCall``);
``PaymentBook.conclude`` applies the gateway's answer. The book remembers what changed,
for one write per table at the end of the batch.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from orderflow_contracts.payment import (
    AuthorizePayment,
    CapturePayment,
    RefundPayment,
    VoidPayment,
)
from orderflow_messaging.errors import PermanentFailure
from orderflow_messaging.registry import Message
from payment.adapters.idempotency import KeyedRequest, KeyState, StoredKey
from payment.application.replies import reply_message, stored_message
from payment.domain.decisions import (
    apply_result,
    decide_authorize,
    decide_capture,
    decide_refund,
    decide_void,
)
from payment.domain.model import Call, Decision, GatewayResult, Payment, PaymentError

Command = AuthorizePayment | CapturePayment | VoidPayment | RefundPayment

OPERATIONS: dict[type[Command], Call] = {
    AuthorizePayment: Call.AUTHORIZE,
    CapturePayment: Call.CAPTURE,
    VoidPayment: Call.VOID,
    RefundPayment: Call.REFUND,
}


# Optional fields added to a command after its keys were first stored.
_LATER_OPTIONAL = ("return_id", "lines")


def keyed(cmd: Command) -> KeyedRequest:
    """The key, and a fingerprint of everything else the command asks of the gateway.
    A capture's invoice is not part of it: a resend from before invoices (without one)
    and one from after ask for the same money movement. Nor are a refund's return fields
    when it has none: an order's own refund fingerprints as it did before returns, so its
    resend across the upgrade is the same request."""
    unset = {name for name in _LATER_OPTIONAL if getattr(cmd, name, None) is None}
    asked = cmd.model_dump(mode="json", exclude={"invoice", *unset})
    canonical = json.dumps({"type": cmd.TYPE, **asked}, sort_keys=True, separators=(",", ":"))
    fingerprint = hashlib.sha256(canonical.encode()).hexdigest()
    return KeyedRequest(cmd.idempotency_key, OPERATIONS[type(cmd)], cmd.order_id, fingerprint)


def rounds(order_ids: Sequence[str]) -> list[list[int]]:
    """Batch positions by round: round k has the k-th position of each order, in batch
    order."""
    seen: dict[str, int] = {}
    grouped: list[list[int]] = []
    for position, order_id in enumerate(order_ids):
        k = seen.get(order_id, 0)
        seen[order_id] = k + 1
        if k == len(grouped):
            grouped.append([])
        grouped[k].append(position)
    return grouped


@dataclass(frozen=True)
class GatewayCall:
    """A decided gateway call: ``call`` of ``amount_minor`` under ``key``, starting from
    ``payment``. ``pending`` is the key to commit pending before the call (None when it
    is stored already); ``completes`` are the keys its answer concludes."""

    order_id: str
    payment: Payment
    call: Call
    amount_minor: int
    key: str
    pending: KeyedRequest | None
    completes: tuple[KeyedRequest, ...]
    return_id: str | None = None  # a return's refund: echoed in the reply


def _decision(cmd: Command, payment: Payment | None, in_flight: bool) -> Decision:
    match cmd:
        case AuthorizePayment():
            return decide_authorize(
                payment, cmd.order_id, cmd.amount_minor, cmd.currency, cmd.payment_token
            )
        case CapturePayment():
            return decide_capture(payment, cmd.amount_minor, cmd.currency)
        case VoidPayment():
            return decide_void(payment, cmd.order_id, authorization_in_flight=in_flight)
        case RefundPayment():
            return decide_refund(
                payment,
                cmd.order_id,
                cmd.amount_minor,
                cmd.currency,
                authorization_in_flight=in_flight,
            )


@dataclass
class PaymentBook:
    """The payments of a batch's orders and the keys it needs (its commands' keys and
    its orders' open authorizations, oldest first), and what the batch changed."""

    payments: dict[str, Payment]
    keys: dict[str, StoredKey]
    # Order ids of the payments to write, and keys answered (done) in this batch.
    changed: set[str] = field(default_factory=set)
    done: set[str] = field(default_factory=set)
    _by_order: dict[str, list[str]] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        for key, stored in self.keys.items():
            self._by_order.setdefault(stored.request.order_id, []).append(key)

    def decide(self, cmd: Command) -> Message | GatewayCall | None:
        """The reply to ``cmd`` now, or the gateway call to make first. A key pending
        here is registered as such, so that the batch commits it before the call."""
        request = keyed(cmd)
        stored = self.keys.get(request.key)
        if stored is not None and stored.request != request:
            raise PermanentFailure(
                f"idempotency key of {request.operation.value} for {request.order_id} "
                f"was used before for a different request"
            )
        if stored is not None and stored.state is KeyState.DONE:
            assert stored.reply_type is not None, "a done key has its reply"
            assert stored.reply_payload is not None
            return stored_message(stored.reply_type, stored.reply_payload)
        in_flight = self.open_authorization(cmd.order_id)
        try:
            decision = _decision(cmd, self.payments.get(cmd.order_id), in_flight is not None)
        except PaymentError as exc:
            raise PermanentFailure(str(exc)) from exc
        return_id = cmd.return_id if isinstance(cmd, RefundPayment) else None
        if decision.call is None:
            return self._finish(cmd.order_id, decision, (request,), return_id)
        assert decision.payment is not None, "a call starts from a payment"
        via = request
        if decision.call is Call.AUTHORIZE and in_flight is not None:
            # One authorization per order: continue the open one under its own key.
            via = in_flight
        pending = request if via == request and stored is None else None
        if pending is not None:
            self._put(StoredKey(pending, KeyState.PENDING, None, None))
        return GatewayCall(
            cmd.order_id,
            decision.payment,
            decision.call,
            decision.call_amount_minor,
            via.key,
            pending,
            tuple(dict.fromkeys((request, via))),
            return_id,
        )

    def conclude(self, call: GatewayCall, result: GatewayResult) -> Message | None:
        """The gateway answered ``call``: the reply (None: the authorization stays open)."""
        try:
            decision = apply_result(call.payment, call.call, call.amount_minor, result)
        except PaymentError as exc:
            raise PermanentFailure(str(exc)) from exc
        return self._finish(call.order_id, decision, call.completes, call.return_id)

    def open_authorization(self, order_id: str) -> KeyedRequest | None:
        """The order's oldest authorization whose gateway call has no stored outcome."""
        for key in self._by_order.get(order_id, ()):
            stored = self.keys[key]
            if stored.state is KeyState.PENDING and stored.request.operation is Call.AUTHORIZE:
                return stored.request
        return None

    def _finish(
        self,
        order_id: str,
        decision: Decision,
        completes: Sequence[KeyedRequest],
        return_id: str | None = None,
    ) -> Message | None:
        before = self.payments.get(order_id)
        if decision.payment is not None and decision.payment != before:
            self.payments[order_id] = decision.payment
            self.changed.add(order_id)
        if decision.answer is None:
            return None
        message = reply_message(order_id, decision.payment or before, decision.answer, return_id)
        payload = message.model_dump(mode="json")
        for request in completes:
            self._put(StoredKey(request, KeyState.DONE, message.TYPE, payload))
            self.done.add(request.key)
        return message

    def _put(self, stored: StoredKey) -> None:
        key = stored.request.key
        if key not in self.keys:
            self._by_order.setdefault(stored.request.order_id, []).append(key)
        self.keys[key] = stored
