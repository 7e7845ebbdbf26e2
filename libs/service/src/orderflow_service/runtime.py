"""One service process: migrations, topics, relay, consumers, timers and HTTP, with a
clean, bounded shutdown on SIGTERM/SIGINT.

Start order: migrate -> ensure topics -> producer + relay -> consumers -> timers -> HTTP.
Stop order is the reverse, so in-flight handlers finish (and commit) before the relay
drains the outbox one last time.

A service runs on uvloop (``ORDERFLOW_UVLOOP=0`` keeps asyncio's own loop), and
faststream's per-batch "Received"/"Processed" access lines are logged at DEBUG: the hot
path logs nothing at INFO per batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog
import uvicorn
from aiokafka import AIOKafkaProducer
from fastapi import APIRouter
from faststream.kafka import KafkaBroker
from opentelemetry.sdk.trace import TracerProvider
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from orderflow_contracts.topics import COMPACTED
from orderflow_messaging import tracing
from orderflow_messaging.consumer import MessageConsumer
from orderflow_messaging.db import create_engine, dispose, hot_pool
from orderflow_messaging.housekeeping import AgedTable, Housekeeping, check_retention
from orderflow_messaging.kafka import start_producer, stop_producer
from orderflow_messaging.lag import ConsumerLag, observe_lag
from orderflow_messaging.logs import configure_logging
from orderflow_messaging.offsets import OffsetCommitter
from orderflow_messaging.relay import OutboxRelay
from orderflow_messaging.settings import ConsumerSettings
from orderflow_messaging.subscriber import create_broker, subscribe
from orderflow_service.gc_tuning import GcSettings, tune_gc
from orderflow_service.http import create_app
from orderflow_service.migrations import upgrade
from orderflow_service.settings import ServiceSettings
from orderflow_service.timers import PeriodicTask
from orderflow_service.topics import ensure_topics, retention_ms
from orderflow_service.tracing import instrument_app, setup_tracing, shutdown_tracing

log = structlog.get_logger(__name__)
# How often each service samples its outbox backlog and its consumers' lag for /metrics.
OUTBOX_GAUGES_INTERVAL_S = 5.0
CONSUMER_LAG_INTERVAL_S = 5.0


@dataclass(frozen=True)
class Subscription:
    consumer: MessageConsumer
    topics: tuple[str, ...]
    group_id: str
    # This subscription's own consumer settings (default: the service's ``consumer``).
    settings: ConsumerSettings | None = None


@dataclass
class ServiceDefinition:
    """What bootstrap.py of a service hands to the runtime."""

    name: str
    settings: ServiceSettings
    engine: AsyncEngine
    migrations: Path
    subscriptions: Sequence[Subscription] = ()
    produces: Sequence[str] = ()
    tasks: Sequence[PeriodicTask] = ()
    routers: Sequence[APIRouter] = ()
    # The service's own tables pruned by housekeeping besides its outbox and inbox.
    aged_tables: Sequence[AgedTable] = ()


def service_engine(settings: ServiceSettings, name: str) -> AsyncEngine:
    return create_engine(
        settings.database_url,
        search_path=settings.db_schema,
        pool_size=settings.db_pool_size,
        application_name=f"orderflow-{name}",
    )


@dataclass
class ServiceRunner:
    service: ServiceDefinition
    stop_event: asyncio.Event = field(default_factory=asyncio.Event)
    _producer: AIOKafkaProducer | None = None
    _relay: OutboxRelay | None = None
    _broker: KafkaBroker | None = None
    _server: uvicorn.Server | None = None
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _offsets: list[OffsetCommitter] = field(default_factory=list)
    _tracer_provider: TracerProvider | None = None
    _lag: ConsumerLag | None = None

    async def start(self) -> None:
        svc, settings = self.service, self.service.settings
        self._tracer_provider = setup_tracing(svc.name, settings.tracing)
        await asyncio.to_thread(
            upgrade, settings.database_url, svc.migrations, search_path=settings.db_schema
        )
        consumed = {t for s in svc.subscriptions for t in s.topics}
        await ensure_topics(
            settings.kafka, consumed | set(svc.produces), partitions=settings.topic_partitions
        )
        # A compacted topic keeps each key's latest record forever, past any inbox window:
        # its readers apply records by revision (an old one never wins), so the inbox is
        # not what keeps them exactly-once and the window check does not apply.
        windowed = consumed - COMPACTED
        if windowed and settings.retention.enabled:
            check_retention(settings.retention, await retention_ms(settings.kafka, windowed))
        async with svc.engine.connect() as conn:
            schema = str(await conn.scalar(text("SELECT current_schema()")))
        for task in self._housekeeping(schema):
            self._spawn(task.name, task.run(self.stop_event))
        self._producer = await start_producer(settings.kafka)
        self._relay = OutboxRelay(svc.engine, self._producer, settings.kafka, schema=schema)
        self._spawn("relay", self._relay.run(self.stop_event))
        self._broker = create_broker(settings.kafka, log_level=logging.DEBUG)
        self._offsets = [
            subscribe(
                self._broker, sub.consumer, *sub.topics,
                group_id=sub.group_id, settings=sub.settings or settings.consumer,
            )
            for sub in svc.subscriptions
        ]  # fmt: skip
        await asyncio.wait_for(self._broker.start(), settings.kafka.lifecycle_timeout_s)
        if svc.subscriptions:
            self._spawn("consumer-lag", self._lag_gauges().run(self.stop_event))
        for task in svc.tasks:
            self._spawn(task.name, task.run(self.stop_event))
        await self._start_http()
        log.info("service_started", service=svc.name, http_port=self.http_port)
        tune_gc(GcSettings())

    def _housekeeping(self, schema: str) -> list[PeriodicTask]:
        """Pruning (every ``RETENTION_INTERVAL_S``) and the outbox gauges (every few
        seconds), over one ``Housekeeping`` of the service's schema."""
        settings = self.service.settings.retention
        keeper = Housekeeping(settings, schema=schema, extra=self.service.aged_tables)
        pool = hot_pool(self.service.engine)

        async def prune() -> bool:
            async with (await pool.pool()).acquire() as conn:
                pruned = await keeper.prune(conn)
                await keeper.observe_sizes(conn)
            return keeper.more_waiting(pruned)

        async def gauges() -> bool:
            async with (await pool.pool()).acquire() as conn:
                await keeper.observe_outbox(conn)
            return False

        return [
            PeriodicTask("housekeeping", settings.interval_s, prune),
            PeriodicTask("outbox-gauges", OUTBOX_GAUGES_INTERVAL_S, gauges),
        ]

    def _lag_gauges(self) -> PeriodicTask:
        """Each subscription's lag on the partitions this replica owns, from the broker."""
        lag = self._lag = ConsumerLag(self.service.settings.kafka)
        pairs = list(zip(self.service.subscriptions, self._offsets, strict=True))

        async def observe() -> bool:
            try:
                for sub, offsets in pairs:
                    await observe_lag(lag, sub.consumer.name, sub.group_id, set(offsets.owned))
            except Exception:
                await lag.close()  # open afresh next time
                raise
            return False

        return PeriodicTask("consumer-lag", CONSUMER_LAG_INTERVAL_S, observe)

    @property
    def http_port(self) -> int | None:
        if self._server is None or not self._server.servers:
            return None
        sockets = self._server.servers[0].sockets
        return int(sockets[0].getsockname()[1]) if sockets else None

    async def _start_http(self) -> None:
        svc, settings = self.service, self.service.settings
        app = create_app(svc.name, routers=svc.routers, readiness=[self._db_ready])
        instrument_app(app, self._tracer_provider)
        config = uvicorn.Config(
            app,
            host=settings.http_host,
            port=settings.http_port,
            # httptools (C) parses requests; uvicorn's "auto" would fall back to the
            # pure-Python h11 without a word if it were missing.
            http="httptools",
            log_config=None,
            access_log=False,
            lifespan="off",
        )
        self._server = uvicorn.Server(config)
        self._spawn("http", self._server.serve())
        while not self._server.started:  # noqa: ASYNC110 - uvicorn exposes only a flag
            await asyncio.sleep(0.02)

    async def _db_ready(self) -> str | None:
        try:
            async with self.service.engine.connect() as conn:
                await asyncio.wait_for(conn.execute(text("SELECT 1")), 3)
        except Exception as exc:
            return f"database: {exc!r}"
        return None

    def _spawn(self, name: str, coro: Coroutine[Any, Any, None]) -> None:
        # Background work traces nothing of its own (the HTTP server, spawned too,
        # is not quiet: requests are where traces begin).
        work = coro if name == "http" else tracing.quietly(coro)
        task = asyncio.create_task(work, name=name)
        self._tasks.append(task)

    async def stop(self) -> None:
        settings = self.service.settings
        if self._server is not None:
            self._server.should_exit = True
        for offsets in self._offsets:
            # faststream stops its consumers without a last commit: what is pending
            # would be fetched again (and skipped by the inbox) after the restart.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(offsets.close(), settings.kafka.lifecycle_timeout_s)
        if self._broker is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._broker.stop(), settings.kafka.lifecycle_timeout_s)
        for sub in self.service.subscriptions:
            # A pipelined batch's statement may still run: let it end before the pool
            # goes (its offsets may no longer commit; the inbox skips the refetch).
            with contextlib.suppress(Exception):
                await asyncio.wait_for(sub.consumer.settle(), settings.kafka.lifecycle_timeout_s)
        self.stop_event.set()
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=settings.kafka.lifecycle_timeout_s)
            for task in pending:
                task.cancel()
        if self._lag is not None:
            with contextlib.suppress(Exception):
                await self._lag.close()
        producer = self._relay.producer if self._relay is not None else self._producer
        if producer is not None:
            await stop_producer(producer, settings.kafka)
        await dispose(self.service.engine)
        await asyncio.to_thread(shutdown_tracing, self._tracer_provider)
        log.info("service_stopped", service=self.service.name)


def serve(service: ServiceDefinition) -> Coroutine[Any, Any, None]:
    """The body of every ``python -m <service>``: ``asyncio.run(serve(build(...)))`` runs
    the service until SIGTERM/SIGINT. Called before ``asyncio.run`` creates its loop, it
    chooses the loop first: uvloop, unless ``ORDERFLOW_UVLOOP=0``."""
    use_uvloop()
    return _serve(service)


def use_uvloop() -> bool:
    """Make new event loops of this process uvloop loops (about a fifth less CPU per
    message in our services: faster callbacks, sockets and timers)."""
    if os.environ.get("ORDERFLOW_UVLOOP", "1") == "0":
        return False
    import uvloop

    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    return True


async def _serve(service: ServiceDefinition) -> None:
    settings = service.settings
    configure_logging(service.name, level=settings.log_level, json=settings.log_json)
    log.info(
        "event_loop",
        service=service.name,
        loop=type(asyncio.get_running_loop()).__module__.split(".")[0],
    )
    runner = ServiceRunner(service)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, runner.stop_event.set)
    await runner.start()
    await runner.stop_event.wait()
    await runner.stop()
