"""What the use cases need from a card gateway, and how a gateway fails.

    GatewayError
    ├── GatewayUnavailable   refused before acting (5xx, connection refused): retry later
    ├── GatewayTimeout       no answer: it may or may not have acted, so ask again later
    └── GatewayConflict      an idempotency key reused for a different request: a bug

Business answers (declines) are results, not errors.
"""

from __future__ import annotations

from typing import Protocol

from payment.domain.model import GatewayResult


class GatewayError(Exception):
    """Base of the gateway's technical faults."""


class GatewayUnavailable(GatewayError):
    pass


class GatewayTimeout(GatewayError):
    pass


class GatewayConflict(GatewayError):
    pass


class CardGateway(Protocol):
    """Every call is idempotent by ``key``: a repeat returns the first call's result."""

    async def authorize(
        self, key: str, order_id: str, amount_minor: int, currency: str, token: str
    ) -> GatewayResult: ...

    async def capture(
        self, key: str, order_id: str, authorization_id: str, amount_minor: int, currency: str
    ) -> GatewayResult: ...

    async def void(self, key: str, order_id: str) -> GatewayResult: ...

    async def refund(
        self, key: str, order_id: str, authorization_id: str, amount_minor: int, currency: str
    ) -> GatewayResult: ...
