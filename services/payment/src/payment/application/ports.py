"""What the use cases need from a card gateway (and how a gateway fails), and from the
batch's storage.

    GatewayError
    ├── GatewayUnavailable   refused before acting (5xx, connection refused): retry later
    ├── GatewayTimeout       no answer: it may or may not have acted, so ask again later
    └── GatewayConflict      an idempotency key reused for a different request: a bug

Business answers (declines) are results, not errors.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from payment.domain.model import GatewayResult

if TYPE_CHECKING:
    from payment.adapters.idempotency import KeyedRequest
    from payment.application.book import PaymentBook
    from payment.domain.invoices import Document


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


class PaymentStore(Protocol):
    """The consumer batch's storage (PostgreSQL, or the in-memory fake)."""

    async def load_for_update(self, order_ids: Sequence[str], keys: Sequence[str]) -> PaymentBook:
        """Take the per-order lock of every order (in the given order, sorted), then load
        their payments, the stored ``keys`` and the orders' open authorizations (pending
        authorize keys), oldest first."""

    async def commit_pending(self, requests: Sequence[KeyedRequest]) -> None:
        """Store ``requests`` pending (a key stored already is kept as it is), committed
        on return whatever happens to the batch: before their gateway calls."""

    async def save(self, book: PaymentBook, now: datetime) -> None:
        """Write the book's changed payments and turn its done keys done, with their
        replies (inside the batch's transaction)."""


class DocumentStore(Protocol):
    """Invoices and credit notes, in the batch's transaction."""

    async def invoices_of(self, order_ids: Sequence[str]) -> dict[str, Document]:
        """The invoice of each of these orders that has one."""

    async def issue(self, documents: Sequence[Document]) -> list[Document]:
        """Number ``documents`` (per series and year of issue, in the order given, each
        series continuing without a gap) and store them; returns them numbered. A
        document for a source key that has one already is an error."""
