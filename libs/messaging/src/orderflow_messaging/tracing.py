"""Trace context across Kafka (W3C Trace Context in record headers, through the outbox).

Off by default: until a service's runtime calls ``enable()`` (``TRACING_EXPORTER`` is not
``none``), nothing here runs on the hot path.

Which spans, and why. A consumer batch serves many orders at once, and one order is
meant to be one trace, from the HTTP request (or the upstream submission) through every
service. So each message gets its own span, ``process <type>`` (kind CONSUMER), a child
of the context its producer wrote into the record's ``traceparent`` header; it lasts
from the start of its batch to the batch's commit (retries included), and what the
batch's handlers put into the outbox *because of* that message (``causation``) carries
that span's context onward. The batch's shared work (its SQL statements, traced by the
asyncpg instrumentation) hangs under one batch span, ``<consumer> batch``, linked to
every message span: it belongs to no single order's trace. A batch span with links
alone would have cut every order's trace at every hop.

Outbox rows get the ``traceparent`` (and ``tracestate``) headers when written, inside
the transaction: the relay publishes the headers as stored and adds no span of its own
(publishing is a copy of a committed row; its delay shows as the gap between the
writer's span and the reader's).
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator, Sequence
from contextvars import ContextVar
from typing import TYPE_CHECKING, Protocol
from uuid import UUID

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.propagators.textmap import Getter
from opentelemetry.trace import Link, Span, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from orderflow_messaging.envelope import Envelope, Headers, SourceCoordinates

if TYPE_CHECKING:
    from orderflow_messaging.outbox import OutgoingRecord

TRACE_HEADERS = ("traceparent", "tracestate")

_PROPAGATOR = TraceContextTextMapPropagator()
_tracer = trace.get_tracer("orderflow_messaging")
_enabled = False
# The message spans of the batch this task is handling (None outside a batch).
_batch: ContextVar[MessageSpans | None] = ContextVar("orderflow_batch_spans", default=None)


def enable(on: bool = True) -> None:
    """Trace from now on (the runtime, once its tracer provider is set)."""
    global _enabled, _tracer
    _enabled = on
    _tracer = trace.get_tracer("orderflow_messaging")


def enabled() -> bool:
    return _enabled


class _KafkaHeaders(Getter[Sequence[tuple[str, bytes]]]):
    def get(self, carrier: Sequence[tuple[str, bytes]], key: str) -> list[str] | None:
        values = [value.decode("latin-1") for name, value in carrier if name == key]
        return values or None

    def keys(self, carrier: Sequence[tuple[str, bytes]]) -> list[str]:
        return [name for name, _ in carrier]


_GETTER = _KafkaHeaders()


def context_from(headers: Sequence[tuple[str, bytes]] | None) -> Context:
    """The trace context a record's producer wrote (an empty context when none)."""
    return _PROPAGATOR.extract(headers or (), getter=_GETTER)


def headers_of(ctx: Context | None = None) -> Headers:
    """``traceparent``/``tracestate`` of ``ctx`` (default: the current context); none
    when it holds no valid span."""
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier, context=ctx)
    return [(name, value.encode("latin-1")) for name, value in carrier.items()]


def capture() -> Context | None:
    """The caller's context, to hand to work another task does for it (a grouped
    commit): None while tracing is off."""
    return otel_context.get_current() if _enabled else None


def traced(
    record: OutgoingRecord, *, causation: Envelope | None = None, context: Context | None = None
) -> OutgoingRecord:
    """``record`` with the trace context it continues: ``context`` if given, else the
    span of the batch message that caused it, else the current context."""
    if not _enabled:
        return record
    if context is None and causation is not None:
        spans = _batch.get()
        if spans is not None:
            context = spans.context_of(causation.message_id)
    extra = headers_of(context)
    if not extra:
        return record
    kept = [(name, value) for name, value in record.headers if name not in TRACE_HEADERS]
    return dataclasses.replace(record, headers=[*kept, *extra])


class TracedItem(Protocol):
    """What a consumer batch item exposes to tracing."""

    @property
    def source(self) -> SourceCoordinates: ...

    @property
    def envelope(self) -> Envelope | None: ...

    @property
    def headers(self) -> Sequence[tuple[str, bytes]]: ...


class MessageSpans:
    """The spans of one consumer batch: one per message, and the batch's own."""

    def __init__(self, consumer: str, items: Sequence[TracedItem]) -> None:
        self._consumer = consumer
        self._by_id: dict[UUID, Span] = {}
        self._spans: list[Span] = []
        for item in items:
            span = _message_span(consumer, item)
            self._spans.append(span)
            if item.envelope is not None:
                self._by_id[item.envelope.message_id] = span

    def context_of(self, message_id: UUID) -> Context | None:
        span = self._by_id.get(message_id)
        return trace.set_span_in_context(span) if span is not None else None

    def end(self, error: BaseException | None) -> None:
        for span in self._spans:
            if error is not None:
                span.set_status(Status(StatusCode.ERROR, type(error).__name__))
            span.end()


def _message_span(consumer: str, item: TracedItem) -> Span:
    envelope, source = item.envelope, item.source
    attributes: dict[str, str | int] = {
        "messaging.system": "kafka",
        "messaging.operation.name": "process",
        "messaging.destination.name": source.topic,
        "messaging.destination.partition.id": str(source.partition),
        "messaging.kafka.offset": source.offset,
        "messaging.consumer.group.name": consumer,
    }
    if envelope is not None:
        attributes["messaging.message.id"] = str(envelope.message_id)
        attributes["messaging.message.conversation_id"] = envelope.correlation_id
        attributes["orderflow.message.type"] = envelope.type
    name = f"process {envelope.type}" if envelope is not None else "process undecodable"
    return _tracer.start_span(
        name, context=context_from(item.headers), kind=SpanKind.CONSUMER, attributes=attributes
    )


@contextlib.contextmanager
def batch_spans(consumer: str, items: Sequence[TracedItem]) -> Iterator[MessageSpans]:
    """Span every message of a batch and make the batch span current while it runs."""
    spans = MessageSpans(consumer, items)
    links = [Link(span.get_span_context()) for span in spans._spans]
    token = _batch.set(spans)
    error: BaseException | None = None
    try:
        with _tracer.start_as_current_span(
            f"{consumer} batch",
            links=links,
            attributes={"messaging.batch.message_count": len(items)},
        ):
            yield spans
    except BaseException as exc:
        error = exc
        raise
    finally:
        _batch.reset(token)
        spans.end(error)
