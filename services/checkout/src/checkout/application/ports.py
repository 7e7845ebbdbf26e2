"""What the batch use cases need from storage (PostgreSQL, or the in-memory fakes)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from checkout.application.catalog_copy import CatalogCopy
    from checkout.application.submissions import SubmissionBook


class CatalogStore(Protocol):
    async def load_for_update(self, skus: Sequence[str]) -> CatalogCopy:
        """The copy's rows of ``skus`` (those it has), locked in SKU order."""

    async def save(self, copy: CatalogCopy) -> None:
        """Write each changed row once (insert or update); a row stored meanwhile with a
        newer change is kept."""


class SubmissionStore(Protocol):
    async def load(
        self, idempotency_keys: Sequence[str], skus: Sequence[str], customers: Sequence[str]
    ) -> SubmissionBook:
        """The orders placed under ``idempotency_keys``, the catalog copy of ``skus``
        (those that exist) and the price data of ``customers``."""

    async def save(self, book: SubmissionBook) -> None:
        """Insert the book's new orders; an order placed meanwhile under one of their
        keys (by a concurrent batch) is an error, never silently skipped."""
