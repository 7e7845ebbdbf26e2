"""One gateway call, its faults turned into what the consumer and the timer expect.

- a timeout on an authorization: it may have authorized, so the authorization stays
  open (a pending result: no reply, asked about again later); on any other call a
  ``TransientFailure``;
- unavailable: ``TransientFailure`` (retried; the gateway is idempotent by key);
- conflict (a key reused for another request): ``PermanentFailure``.
"""

from __future__ import annotations

import structlog

from orderflow_messaging.errors import PermanentFailure, TransientFailure
from payment.application.ports import (
    CardGateway,
    GatewayConflict,
    GatewayTimeout,
    GatewayUnavailable,
)
from payment.domain.model import Call, GatewayResult, Payment

log = structlog.get_logger(__name__)


async def call_gateway(
    gateway: CardGateway, payment: Payment, call: Call, amount_minor: int, key: str
) -> GatewayResult:
    """Make ``call`` under ``key``, starting from ``payment``."""
    try:
        return await _request(gateway, payment, call, amount_minor, key)
    except GatewayTimeout as exc:
        if call is not Call.AUTHORIZE:
            raise TransientFailure(f"gateway timed out on {call.value}") from exc
        return GatewayResult.pending()
    except GatewayUnavailable as exc:
        log.warning("gateway_unavailable", order_id=payment.order_id, call=call.value)
        raise TransientFailure(f"gateway unavailable on {call.value}") from exc
    except GatewayConflict as exc:
        raise PermanentFailure(str(exc)) from exc


async def _request(
    gateway: CardGateway, payment: Payment, call: Call, amount: int, key: str
) -> GatewayResult:
    order_id = payment.order_id
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
