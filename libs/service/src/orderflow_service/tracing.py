"""OpenTelemetry for a service process: the tracer provider, its exporter and sampler,
and the instrumentations (FastAPI for HTTP, asyncpg for SQL).

Off by default (``TRACING_EXPORTER=none``): no provider is set and the hot path does
not trace. ``console`` prints spans to stderr, ``file`` writes them as JSON lines to
``TRACING_FILE_DIR/<service>-<pid>.jsonl`` (what the tests read), ``otlp`` sends them
over OTLP/HTTP to the collector the SDK's own variables name
(``OTEL_EXPORTER_OTLP_ENDPOINT``, ``OTEL_EXPORTER_OTLP_HEADERS``, ...). Spans are
exported in the background in batches (``OTEL_BSP_*`` tune it).

Sampling: a span with a parent follows its parent's decision (``traceparent``'s flag),
so an order's trace is kept or dropped whole. A new trace is kept with probability
``TRACING_SAMPLE_RATIO``, except a SQL statement that has no parent (the relay's and
the timers' polling: a trace each, many a second, about nothing). A consumer batch's
span (with its SQL statements) is a new trace too, begun only when one of its messages
is sampled and then kept at the same ratio: its statements cost more to trace than its
messages, and a batch serves many orders.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Literal

from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SpanExporter,
)
from opentelemetry.sdk.trace.sampling import (
    Decision,
    ParentBased,
    Sampler,
    SamplingResult,
    TraceIdRatioBased,
)
from opentelemetry.trace import Link, SpanKind
from opentelemetry.trace.span import TraceState
from opentelemetry.util.types import Attributes
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from orderflow_messaging import tracing as message_tracing

# Probes and scrapes are not traced: a span every few seconds per pod, about nothing.
UNTRACED_URLS = "healthz,readyz,metrics"


class TracingSettings(BaseSettings):
    """``TRACING_*``: where spans go and how many new traces are kept."""

    model_config = SettingsConfigDict(env_prefix="TRACING_", extra="ignore")

    exporter: Literal["none", "console", "file", "otlp"] = "none"
    # A share of new traces: at 100% tracing costs about a third more CPU per order;
    # on twin stacks 1% cost a burst 3.1% of its throughput, 5% 5.1%
    # (docs/performance.md#tracing).
    sample_ratio: float = Field(default=0.01, ge=0.0, le=1.0)
    file_dir: Path | None = None

    @property
    def on(self) -> bool:
        return self.exporter != "none"


class NewTraces(Sampler):
    """The root sampler: drop parentless SQL statements, keep a ratio of the rest."""

    def __init__(self, ratio: float) -> None:
        self._ratio = TraceIdRatioBased(ratio)

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: TraceState | None = None,
    ) -> SamplingResult:
        if kind is SpanKind.CLIENT:
            return SamplingResult(Decision.DROP)
        return self._ratio.should_sample(
            parent_context, trace_id, name, kind, attributes, links, trace_state
        )

    def get_description(self) -> str:
        return f"NewTraces({self._ratio.get_description()})"


def _exporter(service: str, settings: TracingSettings) -> SpanExporter:
    if settings.exporter == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter()
    if settings.exporter == "file":
        directory = settings.file_dir or Path(".")
        directory.mkdir(parents=True, exist_ok=True)
        out: IO[str] = (directory / f"{service}-{os.getpid()}.jsonl").open("a", buffering=1)
        return ConsoleSpanExporter(out=out, formatter=_json_line)
    return ConsoleSpanExporter()


def _json_line(span: ReadableSpan) -> str:
    return str(span.to_json(indent=None)) + "\n"


def setup_tracing(service: str, settings: TracingSettings) -> TracerProvider | None:
    """Set the process's tracer provider and instrument asyncpg; None when tracing is
    off. Call once, before the first connection is opened."""
    if not settings.on:
        return None
    from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor

    resource = Resource.create(
        {
            "service.name": service,
            "service.namespace": "orderflow",
            "service.instance.id": os.environ.get("KAFKA_CLIENT_ID", f"{service}-{os.getpid()}"),
        }
    )
    provider = TracerProvider(
        resource=resource, sampler=ParentBased(root=NewTraces(settings.sample_ratio))
    )
    provider.add_span_processor(BatchSpanProcessor(_exporter(service, settings)))
    trace.set_tracer_provider(provider)
    AsyncPGInstrumentor().instrument(tracer_provider=provider)  # type: ignore[no-untyped-call]
    message_tracing.enable()
    return provider


def instrument_app(app: FastAPI, provider: TracerProvider | None) -> None:
    """A server span per HTTP request (a child of the caller's ``traceparent``)."""
    if provider is None:
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(app, tracer_provider=provider, excluded_urls=UNTRACED_URLS)


def shutdown_tracing(provider: TracerProvider | None) -> None:
    """Export what is still buffered (bounded by the SDK's export timeout)."""
    if provider is not None:
        provider.shutdown()
