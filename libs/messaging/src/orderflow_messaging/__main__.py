"""``python -m orderflow_messaging relay``: run an outbox relay on its own.

Services run their relay in-process; this standalone form serves operations (drain an
outbox while its service is down) and the crash tests (a relay process to kill).
"""

from __future__ import annotations

import argparse
import asyncio
import signal

from orderflow_messaging.db import create_engine, dispose
from orderflow_messaging.kafka import start_producer, stop_producer
from orderflow_messaging.logs import configure_logging
from orderflow_messaging.relay import OutboxRelay
from orderflow_messaging.settings import KafkaSettings


async def _relay(args: argparse.Namespace) -> int:
    kafka = KafkaSettings(bootstrap_servers=args.bootstrap)
    engine = create_engine(args.database_url, search_path=args.schema, pool_size=2)
    producer = await start_producer(kafka)
    relay = OutboxRelay(engine, producer, kafka, schema=args.schema)
    try:
        if args.once:
            published = await relay.publish_pending()
            print(f"published {published}")
            return 0
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await relay.run(stop)
        return 0
    finally:
        await relay.release_slots()
        await stop_producer(relay.producer, kafka)
        await dispose(engine)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m orderflow_messaging")
    sub = parser.add_subparsers(dest="command", required=True)
    relay = sub.add_parser("relay", help="publish one schema's outbox to Kafka")
    relay.add_argument("--database-url", required=True)
    relay.add_argument("--schema", required=True)
    relay.add_argument("--bootstrap", required=True)
    relay.add_argument("--once", action="store_true", help="one pass, then exit")
    args = parser.parse_args()
    configure_logging("relay")
    return asyncio.run(_relay(args))


if __name__ == "__main__":
    raise SystemExit(main())
