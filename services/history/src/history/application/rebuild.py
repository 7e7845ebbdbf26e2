"""Rebuilding the projection from decoded records, in memory, with the live code path:
``fact_of`` then ``apply``. The live consumer's inbox drops a message it has handled;
here a set of message ids does, so a topic holding re-published copies (``orderflow
replay topic``) rebuilds the same rows."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from uuid import UUID

from history.application.facts import fact_of
from history.domain.projection import OrderHistory, apply
from orderflow_messaging.registry import Message


class Rebuild:
    def __init__(self) -> None:
        self.rows: dict[str, OrderHistory] = {}
        self.counts: Counter[str] = Counter()
        self._seen: set[UUID] = set()

    def feed(self, message_id: UUID, message: Message, occurred_at: datetime) -> str:
        """Apply one decoded message; returns applied | ignored | duplicate."""
        fact = fact_of(message, occurred_at)
        if fact is None:
            outcome = "ignored"
        elif message_id in self._seen:
            outcome = "duplicate"
        else:
            self._seen.add(message_id)
            self.rows[fact.order_id] = apply(self.rows.get(fact.order_id), fact)
            outcome = "applied"
        self.counts[outcome] += 1
        return outcome
