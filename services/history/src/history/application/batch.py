"""History's consumer use case, a batch at a time.

A batch's facts are folded in memory with the projection's own ``fold`` (the ``apply``
that ``orderflow replay projection order-history`` also runs), in message order, onto the
rows of their orders as stored; then every touched row is written once. Two statements
per batch whatever its size: load-and-lock, then one write.

Why that is safe with two replicas (partitions of different topics, so facts of one
order in two transactions at once): every existing row the batch touches is locked by
the load (sorted order ids, so two batches lock in the same order), and stays locked
until commit, so the other transaction's load waits and then reads the committed row.
An order with no row yet cannot be locked; both transactions may fold it from nothing.
The write then inserts it under the primary key: the second insert waits for the first
transaction and, once it committed, is refused and reported (the row is locked by then),
so the loser reloads that row and folds its own facts onto it. ``apply`` commutes, and
the inbox lets each message in once, so the row ends with every fact applied once,
whichever transaction went first; no fact is ever folded twice or lost.
One interleaving can deadlock, and only with a third transaction's help: A loads
(orders X and Y, X sorting first, both missing), C creates Y, B loads (Y found and
locked, X missing); A's write inserts X and waits for B's lock on Y, B's waits for A's
insert of X. PostgreSQL aborts one of them (40P01), which the consumer treats as a
database fault: it rewinds and retries that batch. Inserting blank rows before the load
would rule it out, at a third statement in every batch and a second write of every new
row (see the store's notes).
"""

from __future__ import annotations

from collections.abc import Sequence

import structlog

from history.application.facts import fact_of
from history.application.ports import HistoryStore
from history.domain.projection import Fact, OrderHistory, fold
from orderflow_messaging.consumer import Incoming
from orderflow_messaging.registry import Message

log = structlog.get_logger(__name__)


def facts_of(items: Sequence[Incoming[Message]]) -> list[Fact]:
    """The facts the batch's messages state, in message order (others are skipped)."""
    facts = (fact_of(item.message, item.envelope.occurred_at) for item in items)
    return [fact for fact in facts if fact is not None]


async def record_facts(store: HistoryStore, facts: Sequence[Fact]) -> dict[str, OrderHistory]:
    """Load and lock once, fold in message order, write each touched row once; returns
    the rows as written."""
    order_ids = sorted({fact.order_id for fact in facts})
    if not order_ids:
        return {}
    loaded = await store.load_for_update(order_ids)
    rows = fold(facts, loaded)
    taken = await store.save([rows[o] for o in order_ids], loaded.keys())
    if taken:
        # Created by another transaction since our load: fold our facts onto its row.
        again = sorted(taken)
        theirs = await store.load_for_update(again)
        rows.update(fold([fact for fact in facts if fact.order_id in taken], theirs))
        await store.save([rows[o] for o in again], again)
    log.debug(
        "order_history_batch",
        facts=len(facts),
        orders=len(order_ids),
        created=len(order_ids) - len(loaded) - len(taken),
        created_concurrently=len(taken),
    )
    return rows
