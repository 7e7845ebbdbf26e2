"""What tracing costs a consumer batch, per message: the batch's spans (one per message
and the batch's own, `orderflow_messaging.tracing`) and an outbox record continuing each
message's trace, with the service's real tracer set-up (`orderflow_service.tracing`),
exporting over OTLP/HTTP to `bench.otlp_sink` (start it first) or to nowhere.

    python -m bench.otlp_sink &
    python -m bench.tracing_cost            # off, then sampled at 1%, 10%, 100%

Each variant runs in a process of its own (a tracer provider is set once per process);
CPU is the process's (the exporter's thread included), per message.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from orderflow_messaging import tracing
from orderflow_messaging.envelope import Envelope, SourceCoordinates
from orderflow_messaging.outbox import BatchOutbox, new_envelope
from orderflow_messaging.registry import Message

BATCH = 100
BATCHES = 200


class Pinged(Message):
    TYPE = "Pinged"
    VERSION = 1
    order_id: str


@dataclass
class Item:
    envelope: Envelope
    source: SourceCoordinates
    headers: list[tuple[str, bytes]] = field(default_factory=list)


def items(ratio: float) -> list[Item]:
    """A batch whose messages carry their producers' trace context; a share ``ratio``
    of them sampled upstream (where the trace began), as in the running system."""
    made = []
    for n in range(BATCH):
        order_id = str(uuid.uuid4())
        envelope = new_envelope(
            Pinged(order_id=order_id), message_id=uuid.uuid4(), at=datetime.now(UTC),
            producer="bench", correlation_id=order_id, causation=None,
        )  # fmt: skip
        trace_id, span_id = uuid.uuid4().hex, uuid.uuid4().hex[:16]
        # As our SDK writes them: the random-trace-id bit (02) set, sampled (01) or not.
        flags = "03" if n < ratio * BATCH else "02"
        headers = [("traceparent", f"00-{trace_id}-{span_id}-{flags}".encode())]
        made.append(Item(envelope, SourceCoordinates("t", 0, n), headers))
    return made


def one_batch(batch: list[Item]) -> None:
    outbox = BatchOutbox(producer="bench")

    def put_all() -> None:
        for item in batch:
            order_id = item.envelope.correlation_id
            outbox.put("out", Pinged(order_id=order_id), correlation_id=order_id,
                       causation=item.envelope)  # fmt: skip

    if tracing.enabled():
        with tracing.batch_spans("bench", batch):
            put_all()
    else:
        put_all()


def run_variant(ratio: float | None) -> float:
    """CPU microseconds per message (tracing off when ``ratio`` is None)."""
    provider = None
    if ratio is not None:
        from orderflow_service.tracing import TracingSettings, setup_tracing

        provider = setup_tracing("bench", TracingSettings(exporter="otlp", sample_ratio=ratio))
    batch = items(ratio or 0.0)
    for _ in range(20):
        one_batch(batch)  # warm-up
    start = time.process_time()
    for _ in range(BATCHES):
        one_batch(batch)
    if provider is not None:
        provider.force_flush()
    return (time.process_time() - start) / (BATCH * BATCHES) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description="tracing's CPU per message")
    parser.add_argument("--ratio", type=float, default=None, help="one variant (internal)")
    parser.add_argument("--off", action="store_true", help="one variant: off (internal)")
    args = parser.parse_args()
    if args.off or args.ratio is not None:
        print(f"{run_variant(None if args.off else args.ratio):.1f}")
        return
    env = {**os.environ, "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}
    results = {}
    for label, flag in [("off", ["--off"]), ("1%", ["--ratio", "0.01"]),
                        ("10%", ["--ratio", "0.1"]), ("100%", ["--ratio", "1.0"])]:  # fmt: skip
        out = subprocess.run([sys.executable, "-m", "bench.tracing_cost", *flag], env=env,
                             capture_output=True, text=True, check=True)  # fmt: skip
        results[label] = float(out.stdout.strip().splitlines()[-1])
    base = results["off"]
    print("| tracing | CPU us per message | added |")
    print("|---|---|---|")
    for label, us in results.items():
        print(f"| {label} | {us:.1f} | {us - base:+.1f} |")


if __name__ == "__main__":
    main()
