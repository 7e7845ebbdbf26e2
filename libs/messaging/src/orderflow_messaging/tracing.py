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
from collections.abc import Awaitable, Iterator, Sequence
from contextvars import ContextVar
from typing import TYPE_CHECKING, Protocol
from uuid import UUID

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import _SUPPRESS_INSTRUMENTATION_KEY, Context
from opentelemetry.propagators.textmap import Getter
from opentelemetry.trace import Link, Span, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from orderflow_messaging.envelope import Envelope, Headers, SourceCoordinates, header_value

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
    """``record`` with the trace context it continues (``trace_headers``), any it
    carried before replaced."""
    if not _enabled:
        return record
    extra = trace_headers(causation=causation, context=context)
    if not extra:
        return record
    kept = [(name, value) for name, value in record.headers if name not in TRACE_HEADERS]
    return dataclasses.replace(record, headers=[*kept, *extra])


def trace_headers(*, causation: Envelope | None = None, context: Context | None = None) -> Headers:
    """The trace headers of a new record: of ``context`` if given, else of the batch
    message that caused it (``causation``), else of the current context."""
    if context is None and causation is not None:
        spans = _batch.get()
        if spans is not None:
            found = spans.headers_of(causation.message_id)
            if found is not None:
                return found
    return headers_of(context)


def traceparent_of(causation: Envelope) -> str | None:
    """The ``traceparent`` a record caused by ``causation`` would carry, for a row to
    keep when what it causes is sent later, by a timer (None while tracing is off)."""
    if not _enabled:
        return None
    value = header_value(trace_headers(causation=causation), "traceparent")
    return value.decode("latin-1") if value is not None else None


def kept_context(traceparent: str | None) -> Context | None:
    """The context of a kept ``traceparent`` (``traceparent_of``), for
    ``BatchOutbox.put(trace_context=...)``; None when none was kept or tracing is off."""
    if not _enabled or traceparent is None:
        return None
    return context_from([("traceparent", traceparent.encode("latin-1"))])


class TracedItem(Protocol):
    """What a consumer batch item exposes to tracing."""

    @property
    def source(self) -> SourceCoordinates: ...

    @property
    def envelope(self) -> Envelope | None: ...

    @property
    def headers(self) -> Sequence[tuple[str, bytes]]: ...


class MessageSpans:
    """The spans of one consumer batch: one per message, and the batch's own.

    A message its producer did not sample (``traceparent`` flags ``00``) gets no span:
    what it causes carries its headers on as they came (the trace's decision holds
    downstream, and the SDK would only have made a non-recording span of it). So an
    unsampled message costs a header lookup, not a span."""

    def __init__(self, consumer: str, items: Sequence[TracedItem]) -> None:
        self._spans: dict[UUID, Span] = {}
        self._unsampled: dict[UUID, Headers] = {}
        self._headers: dict[UUID, Headers] = {}
        self._anonymous: list[Span] = []  # spans of undecodable records
        for item in items:
            envelope = item.envelope
            passed_on = _unsampled_headers(item.headers)
            if passed_on is not None and envelope is not None:
                self._unsampled[envelope.message_id] = passed_on
                continue
            span = _message_span(consumer, item)
            if envelope is None:
                self._anonymous.append(span)
            else:
                self._spans[envelope.message_id] = span

    @property
    def spans(self) -> list[Span]:
        return [*self._spans.values(), *self._anonymous]

    def context_of(self, message_id: UUID) -> Context | None:
        span = self._spans.get(message_id)
        return trace.set_span_in_context(span) if span is not None else None

    def headers_of(self, message_id: UUID) -> Headers | None:
        """What a record caused by this message carries (None: not of this batch)."""
        if message_id in self._unsampled:
            return self._unsampled[message_id]
        if message_id not in self._headers:
            context = self.context_of(message_id)
            if context is None:
                return None
            self._headers[message_id] = headers_of(context)
        return self._headers[message_id]

    def end(self, error: BaseException | None) -> None:
        for span in self.spans:
            if error is not None:
                span.set_status(Status(StatusCode.ERROR, type(error).__name__))
            span.end()


def _sampled(flags: bytes) -> bool:
    try:
        return bool(int(flags, 16) & 1)
    except ValueError:
        return True  # unreadable: let the propagator decide


def _unsampled_headers(headers: Sequence[tuple[str, bytes]]) -> Headers | None:
    """The record's trace headers when its ``traceparent`` says "not sampled"."""
    parent = header_value(headers, "traceparent")
    # The flags are the last two hex digits; bit 0 is "sampled" (others, such as the
    # random-trace-id bit our SDK sets, do not matter here).
    if parent is None or len(parent) < 2 or _sampled(parent[-2:]):
        return None
    return [(name, value) for name, value in headers if name in TRACE_HEADERS]


def _message_span(consumer: str, item: TracedItem) -> Span:
    envelope, source = item.envelope, item.source
    # Few attributes: the SDK checks each one, for every message (a few us apiece).
    attributes: dict[str, str | int] = {
        "messaging.destination.name": source.topic,
        "messaging.destination.partition.id": source.partition,
        "messaging.kafka.offset": source.offset,
    }
    if envelope is not None:
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
    recording = [span for span in spans.spans if span.is_recording()]
    token = _batch.set(spans)
    error: BaseException | None = None
    try:
        if not recording:  # no sampled message: nothing to hang the batch's work under
            with quiet():
                yield spans
            return
        with _tracer.start_as_current_span(
            f"{consumer} batch",
            links=[Link(span.get_span_context()) for span in recording],
            attributes={"messaging.batch.message_count": len(items)},
        ) as batch:
            if batch.is_recording():
                yield spans
            else:
                with quiet():
                    yield spans
    except BaseException as exc:
        error = exc
        raise
    finally:
        _batch.reset(token)
        spans.end(error)


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """No instrumentation spans (SQL statements) while inside: for work no kept trace
    will hold. The asyncpg instrumentation otherwise parses every statement and starts
    a span for it, recorded or not (tens of us each)."""
    token = otel_context.attach(otel_context.set_value(_SUPPRESS_INSTRUMENTATION_KEY, True))
    try:
        yield
    finally:
        otel_context.detach(token)


async def quietly(work: Awaitable[None]) -> None:
    """Run a background task (relay, timers, housekeeping) without instrumentation
    spans: its statements have no parent and would only be dropped."""
    if not _enabled:
        await work
        return
    with quiet():
        await work
