"""How the catalog keeps price data (lists, rules, promotions, delivery methods): each
change is stored as the next revision of what it replaces and announced on
catalog.events in the same transaction, keyed by its id, so checkout's copy follows
every change in order and keeps only the newest revision."""

from __future__ import annotations

from typing import Protocol

from catalog.application.unit_of_work import CatalogUnitOfWork
from orderflow_contracts import topics
from orderflow_messaging.registry import Message


class Revised(Protocol):
    @property
    def revision(self) -> int: ...


def next_revision(before: Revised | None) -> int:
    return (before.revision if before is not None else 0) + 1


async def announce(uow: CatalogUnitOfWork, message: Message, key: str) -> None:
    await uow.outbox.put(topics.CATALOG_EVENTS, message, correlation_id=key, key=key)
