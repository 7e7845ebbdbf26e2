"""checkout.events, orders.events, shipping.events -> the projection, a batch at a time."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncEngine

from history.adapters.batch_store import PgHistoryStore
from history.application.batch import facts_of, record_facts
from history.application.facts import HANDLED
from orderflow_contracts import registry
from orderflow_messaging.clock import Clock
from orderflow_messaging.consumer import Batch, Incoming, MessageConsumer, batch_consumer
from orderflow_messaging.registry import Message
from orderflow_messaging.settings import ConsumerSettings

PRODUCER = "history"


async def on_order_facts(batch: Batch, items: Sequence[Incoming[Message]]) -> None:
    """Every handled type of the three topics: a batch's facts are folded together."""
    await record_facts(PgHistoryStore(batch.conn, batch.plan), facts_of(items))


def build_consumer(
    engine: AsyncEngine, settings: ConsumerSettings, clock: Clock
) -> MessageConsumer:
    # Types not in HANDLED have no handler: the consumer counts them as ignored.
    return batch_consumer(
        "history", producer=PRODUCER, registry=registry(), engine=engine,
        settings=settings, clock=clock, handles=HANDLED, handler=on_order_facts,
        optimistic=True,
    )  # fmt: skip
