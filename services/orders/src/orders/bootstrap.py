"""Composition root of the saga coordinator."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from orderflow_contracts import topics
from orderflow_messaging.clock import Clock, utc_now
from orderflow_messaging.db import hot_pool
from orderflow_messaging.housekeeping import AgedTable
from orderflow_messaging.outbox import BatchOutbox, Outbox
from orderflow_service.runtime import ServiceDefinition, Subscription, service_engine
from orderflow_service.timers import PeriodicTask
from orders import metrics
from orders.adapters.backlog import BacklogSampler
from orders.adapters.repository import SagaRepository
from orders.adapters.return_store import PgReturnStore
from orders.adapters.saga_cache import SagaCache
from orders.application import returns_service, saga_service
from orders.application.deadline_holds import DeadlineHolds, HoldClock, QueueSample
from orders.application.unit_of_work import OrdersUnitOfWork
from orders.config import OrdersSettings
from orders.entrypoints.admin_http import build_admin_router
from orders.entrypoints.http import build_router
from orders.entrypoints.messages import PRODUCER, build_consumer
from orders.entrypoints.returns_http import build_returns_router
from orders.returns.state import ReturnStatus
from orders.saga.state import SagaStatus

MIGRATIONS = Path(__file__).parent / "migrations"

CONSUMES = (
    topics.CHECKOUT_EVENTS,
    topics.PROMOTIONS_EVENTS,
    topics.INVENTORY_EVENTS,
    topics.PAYMENT_EVENTS,
    topics.SHIPPING_EVENTS,
)
PRODUCES = (
    topics.PROMOTIONS_COMMANDS,
    topics.INVENTORY_COMMANDS,
    topics.PAYMENT_COMMANDS,
    topics.SHIPPING_COMMANDS,
    topics.ORDERS_EVENTS,
    topics.ORDERS_INBOUND_REPLIES,  # the answers to upstream cancellations
)


def deadline_holds(
    settings: OrdersSettings, engine: AsyncEngine, clock: Clock
) -> DeadlineHolds | None:
    """The hold clock of the step deadlines, fed from the broker and our outbox."""
    if not settings.deadline_holds:
        return None
    sampler = BacklogSampler(settings.kafka)
    pool = hot_pool(engine)

    async def sample() -> dict[str, list[list[QueueSample]]]:
        try:
            async with (await pool.pool()).acquire() as conn:
                return await sampler.sample(conn)
        except Exception:
            await sampler.close()  # start afresh next time
            raise

    return DeadlineHolds(
        HoldClock(settings.policy().step_timeout), sample, clock,
        max_lag=settings.hold_max_lag, stall_s=settings.hold_stall_s,
    )  # fmt: skip


def build(settings: OrdersSettings, clock: Clock = utc_now) -> ServiceDefinition:
    engine = service_engine(settings, "orders")
    policy = settings.policy()
    return_policy = settings.return_policy()
    cache = SagaCache(settings.saga_cache_size) if settings.saga_cache_size else None
    consumer = build_consumer(engine, settings.consumer, clock, policy, return_policy, cache)

    holds = deadline_holds(settings, engine, clock)

    async def sweep() -> bool:
        """The deadline timer: state lives in the sagas table, so it survives restarts."""
        async with engine.begin() as conn:
            uow = OrdersUnitOfWork(
                conn, Outbox(conn, producer=PRODUCER, clock=clock), clock, policy
            )
            cuts = holds.clock.cuts(clock()) if holds else None
            fired = await saga_service.fire_due_timeouts(uow, cuts=cuts)
        if cache is not None:
            cache.forget(fired)  # changed here: the consumer's next batch reads the table
        return bool(fired)

    async def return_deadlines() -> bool:
        """Returns' step timeouts and parcels that never came (state in the returns
        table); a round that took a whole batch runs again at once."""
        outbox = BatchOutbox(producer=PRODUCER, clock=clock)
        async with (await hot_pool(engine).pool()).acquire() as conn, conn.transaction():
            fired = await returns_service.fire_due_returns(conn, outbox, clock(), return_policy)
            await outbox.flush(conn)
        return fired >= 100

    async def saga_gauges() -> bool:
        async with engine.connect() as conn:
            counts, past = await SagaRepository(conn).gauges(clock())
        for status in SagaStatus:
            metrics.SAGAS.labels(status.value).set(counts.get(status.value, 0))
        metrics.PAST_DEADLINE.set(past)
        async with (await hot_pool(engine).pool()).acquire() as raw:
            returns = await PgReturnStore(raw).counts()
        for state in ReturnStatus:
            metrics.RETURNS.labels(state.value).set(returns.get(state.value, 0))
        return False

    tasks = [
        PeriodicTask("saga-deadlines", settings.sweep_interval_s, sweep),
        PeriodicTask("saga-gauges", settings.gauges_interval_s, saga_gauges),
        PeriodicTask("return-deadlines", settings.return_sweep_interval_s, return_deadlines),
    ]
    if holds:
        tasks.append(PeriodicTask("deadline-holds", settings.hold_sample_interval_s, holds.tick))

    return ServiceDefinition(
        name="orders",
        settings=settings,
        engine=engine,
        migrations=MIGRATIONS,
        subscriptions=[Subscription(consumer, CONSUMES, group_id="orders")],
        produces=PRODUCES,
        tasks=tasks,
        aged_tables=[
            AgedTable("saga_history", "id", "at", settings.retention.history_s),
            AgedTable("return_history", "id", "at", settings.retention.history_s),
        ],
        routers=[
            build_router(engine, clock, policy, PRODUCER),
            build_returns_router(engine, clock, return_policy, PRODUCER),
            build_admin_router(engine, clock, policy, PRODUCER, settings.admin_token),
        ],
    )
