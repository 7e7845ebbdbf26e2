"""orders.inbound -> the upstream door.

The door's registry knows SubmitOrder v1 and v2 and CancelOrder v1 only as "some JSON
object", so that a request that breaks the contract is answered with its reasons (which
the upstream can act on) rather than dead-lettered. Unparseable bytes, an unknown type or an
unknown version still go to orders.inbound.dlq with their reason code.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import ConfigDict
from sqlalchemy.ext.asyncio import AsyncEngine

from checkout.adapters.batch_store import PgSubmissionStore
from checkout.application.submissions import handle_door_requests
from checkout.application.unit_of_work import PRODUCER
from orderflow_messaging.clock import Clock, IdFactory
from orderflow_messaging.consumer import Batch, Incoming, MessageConsumer, batch_consumer
from orderflow_messaging.registry import Message, MessageRegistry
from orderflow_messaging.settings import ConsumerSettings

CONSUMER = "checkout-inbound"


class _AnySubmissionV1(Message):
    model_config = ConfigDict(frozen=True, extra="allow")
    TYPE = "SubmitOrder"
    VERSION = 1


class _AnySubmissionV2(_AnySubmissionV1):
    VERSION = 2


class _AnyCancellation(Message):
    model_config = ConfigDict(frozen=True, extra="allow")
    TYPE = "CancelOrder"
    VERSION = 1


def door_registry() -> MessageRegistry:
    registry = MessageRegistry()
    registry.register(_AnySubmissionV1, _AnySubmissionV2, _AnyCancellation)
    # The strict upcast happens in the use case, after the contract is checked.
    registry.register_upcaster("SubmitOrder", 1, lambda payload: payload)
    return registry


def build_inbound_consumer(
    engine: AsyncEngine,
    settings: ConsumerSettings,
    clock: Clock,
    new_id: IdFactory,
    event_version: int,
) -> MessageConsumer:
    # The use case reads each request from its envelope (version and payload as sent);
    # one handler for both types, so a reference's requests are decided in their order.
    async def on_door_requests(batch: Batch, items: Sequence[Incoming[Message]]) -> None:
        await handle_door_requests(
            PgSubmissionStore(batch.conn, batch.plan), batch, items,
            new_id=new_id, event_version=event_version,
        )  # fmt: skip

    return batch_consumer(
        CONSUMER, producer=PRODUCER, registry=door_registry(), engine=engine,
        settings=settings, clock=clock, handles=(_AnySubmissionV2, _AnyCancellation),
        handler=on_door_requests,
        optimistic=True,
    )  # fmt: skip
