"""Keeping the "bought together" projection from checkout.events, a batch at a time
(the pairs of the batch's orders counted in memory, added in one statement), and
rebuilding it from decoded records with the same fold."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Protocol
from uuid import UUID

import structlog

from catalog.domain.recommendations import Pair, bought_together
from orderflow_contracts.checkout import OrderPlaced
from orderflow_messaging.consumer import Incoming
from orderflow_messaging.registry import Message

log = structlog.get_logger(__name__)


class BoughtTogetherStore(Protocol):
    async def add(self, counts: Counter[Pair]) -> None:
        """Add each pair's count to the stored one."""


def _skus(order: OrderPlaced) -> list[str]:
    return [line.sku for line in order.lines]


async def count_orders(store: BoughtTogetherStore, items: Sequence[Incoming[OrderPlaced]]) -> None:
    """The inbox has dropped redeliveries: each order here is counted once."""
    counts = bought_together(_skus(item.message) for item in items)
    await store.add(counts)
    log.debug("bought_together_batch", orders=len(items), pairs=len(counts))


class Rebuild:
    """The projection from decoded records, in memory, by the live fold. The live
    consumer's inbox drops a message it has handled; here a set of message ids does, so
    a topic holding re-published copies (`orderflow replay topic`) rebuilds the same."""

    def __init__(self) -> None:
        self.counts: Counter[Pair] = Counter()
        self.outcomes: Counter[str] = Counter()
        self._seen: set[UUID] = set()

    def feed(self, message_id: UUID, message: Message) -> str:
        """Apply one decoded message; returns applied | ignored | duplicate."""
        if not isinstance(message, OrderPlaced):
            outcome = "ignored"
        elif message_id in self._seen:
            outcome = "duplicate"
        else:
            self._seen.add(message_id)
            self.counts.update(bought_together([_skus(message)]))
            outcome = "applied"
        self.outcomes[outcome] += 1
        return outcome
