"""What the batch use case needs from storage (PostgreSQL, or the in-memory fake)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol
from uuid import UUID

if TYPE_CHECKING:
    from orders.application.return_book import ReturnBook
    from orders.application.saga_batch import SagaBook


@dataclass(frozen=True, slots=True)
class HistoryRow:
    """One transition, as ``saga_history`` keeps it."""

    order_id: str
    at: datetime
    kind: str
    message_type: str | None
    message_id: UUID | None
    from_status: str | None
    to_status: str
    step: str | None
    commands: list[str]
    note: str


class SagaStore(Protocol):
    async def load_for_update(
        self, order_ids: Sequence[str], starting: Collection[str] = ()
    ) -> SagaBook:
        """The sagas of ``order_ids`` that exist, locked in order id order. ``starting``:
        ids whose first message in the batch starts a saga; a store whose ``save`` turns
        an existing one into a conflict may presume them absent without looking."""

    async def save(self, book: SagaBook) -> None:
        """Insert the book's new sagas, update its changed ones and append its history,
        only if every saga the book read is still at the version read (else
        ConcurrencyConflict, also for one it did not change)."""


class ReturnStore(Protocol):
    async def load_for_update(self, return_ids: Sequence[str]) -> ReturnBook:
        """The returns of ``return_ids`` that exist, locked in return id order."""

    async def save(self, book: ReturnBook) -> None:
        """Insert the book's new returns, update its changed ones (each only if its
        version is still the one loaded: else ConcurrencyConflict), append its history."""
