"""The shipping timers: each tick is one asyncpg transaction on the hot pool, like a
consumer batch (claim, decide in memory, one update, one outbox insert, commit)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from orderflow_messaging.clock import Clock, IdFactory
from orderflow_messaging.db import hot_pool
from orderflow_messaging.outbox import BatchOutbox
from orderflow_service.timers import PeriodicTask
from shipping.adapters.batch_store import PgShipmentStore
from shipping.application import handlers
from shipping.application.handlers import Tick, TickUseCase
from shipping.domain.carrier import SimulatedCarrier
from shipping.domain.model import Timings
from shipping.entrypoints.messages import PRODUCER


async def run_tick(
    engine: AsyncEngine, clock: Clock, new_id: IdFactory, use_case: TickUseCase
) -> int:
    """One timer round in its own transaction, the outbox flushed before the commit;
    returns how many shipments it moved on."""
    pool = await hot_pool(engine).pool()
    outbox = BatchOutbox(producer=PRODUCER, clock=clock, new_id=new_id)
    async with pool.acquire() as conn, conn.transaction():
        done = await use_case(Tick(PgShipmentStore(conn), outbox, clock(), new_id))
        await outbox.flush(conn)
    return done


def build_timers(
    engine: AsyncEngine,
    interval_s: float,
    limit: int,
    clock: Clock,
    new_id: IdFactory,
    carrier: SimulatedCarrier,
    timings: Timings,
) -> list[PeriodicTask]:
    """The slow carrier's late bookings and the tracking steps, every ``interval_s``; a
    tick that took a whole ``limit`` returns True, so the task runs again at once. (Not
    any tick that moved something: under steady load that ran ticks back to back, each
    claiming the few shipments that came due since the last, a transaction each.)"""

    def every(name: str, use_case: TickUseCase) -> PeriodicTask:
        async def tick() -> bool:
            return await run_tick(engine, clock, new_id, use_case) >= limit

        return PeriodicTask(name, interval_s, tick)

    return [
        every(
            "slow-carrier", lambda t: handlers.create_ready_shipments(t, carrier, timings, limit)
        ),
        every("shipment-advance", lambda t: handlers.advance_shipments(t, timings, carrier, limit)),
    ]
