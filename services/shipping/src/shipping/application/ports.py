"""What the batch use cases need from storage (PostgreSQL, or the in-memory fake)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from shipping.application.batch import ShipmentBook
    from shipping.application.return_labels import LabelBook
    from shipping.domain.model import Shipment


class ShipmentStore(Protocol):
    async def load_for_update(self, order_ids: Sequence[str]) -> ShipmentBook:
        """The shipments of these orders (those that exist), locked in order id order."""

    async def save(self, book: ShipmentBook) -> None:
        """Insert the book's new shipments (a concurrent insert of the same order is an
        error and nothing is written) and write its changed ones as they are."""


class LabelStore(Protocol):
    async def load_for_update(self, return_ids: Sequence[str]) -> LabelBook:
        """The labels of these returns (those that exist), locked in return id order."""

    async def save(self, book: LabelBook) -> None:
        """Insert the book's new labels (one that exists already is an error) and write
        its changed ones."""


class TimerStore(Protocol):
    """The timers' claims: each takes up to ``limit`` shipments with one statement and
    locks them; a shipment another transaction holds is skipped, never awaited (another
    replica's timer is moving it on), so replicas share the work."""

    async def claim_ready(self, now: datetime, limit: int) -> list[Shipment]:
        """Requested shipments a slow carrier has accepted by ``now`` (``is_ready``),
        longest ready first (ready_at, then order id)."""

    async def claim_due(self, now: datetime, limit: int) -> list[Shipment]:
        """Shipments whose next tracking step is due at ``now`` (``is_due``), the most
        overdue first (next_step_at, then order id)."""

    async def save(self, book: ShipmentBook) -> None:
        """As ``ShipmentStore.save``: the book's changed shipments in one statement."""
