"""Trace context through a consumer batch and the outbox (tracing.py), with the SDK's
in-memory exporter: a message's span continues its producer's trace, what the batch
puts into the outbox because of it carries that span onward, and the batch span links
every message span."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from orderflow_messaging import tracing
from orderflow_messaging.envelope import Envelope, SourceCoordinates, header_value
from orderflow_messaging.outbox import BatchOutbox, envelope_record, new_envelope
from orderflow_messaging.registry import Message

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"
_EXPORTER = InMemorySpanExporter()


class Pinged(Message):
    TYPE = "Pinged"
    VERSION = 1
    order_id: str


@dataclass
class Item:
    envelope: Envelope | None
    source: SourceCoordinates = field(default_factory=lambda: SourceCoordinates("t", 0, 7))
    headers: list[tuple[str, bytes]] = field(default_factory=list)


def envelope(order_id: str = "o-1") -> Envelope:
    return new_envelope(
        Pinged(order_id=order_id), message_id=uuid.uuid4(), at=datetime.now(UTC),
        producer="test", correlation_id=order_id, causation=None,
    )  # fmt: skip


def traceparent(headers: list[tuple[str, bytes]]) -> str:
    """The trace id and parent span id of the header (the flags vary by SDK)."""
    value = header_value(headers, "traceparent")
    assert value is not None, headers
    version, trace_id, span_id, _flags = value.decode().split("-")
    return f"{version}-{trace_id}-{span_id}"


@pytest.fixture(autouse=True)
def tracing_on() -> Iterator[InMemorySpanExporter]:
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(_EXPORTER))
        trace.set_tracer_provider(provider)
    _EXPORTER.clear()
    tracing.enable()
    yield _EXPORTER
    tracing.enable(False)


def test_off_leaves_records_as_they_are() -> None:
    tracing.enable(False)
    record = envelope_record("t", envelope(), b"k")
    assert tracing.traced(record, causation=envelope()) is record
    outbox = BatchOutbox(producer="test")
    outbox.put("t", Pinged(order_id="o"), correlation_id="o")
    assert header_value(outbox.records()[0].headers, "traceparent") is None


def test_a_message_span_continues_its_producers_trace_into_the_outbox(
    tracing_on: InMemorySpanExporter,
) -> None:
    incoming = Item(envelope(), headers=[("traceparent", f"00-{TRACE_ID}-{PARENT_ID}-01".encode())])
    other = Item(envelope("o-2"))  # no trace context: a trace of its own
    outbox = BatchOutbox(producer="test")
    with tracing.batch_spans("effects", [incoming, other]):
        assert incoming.envelope is not None
        outbox.put("out", Pinged(order_id="o-1"), correlation_id="o-1", causation=incoming.envelope)
    finished = tracing_on.get_finished_spans()
    [batch] = [span for span in finished if span.name == "effects batch"]
    [message] = [span for span in finished if span.parent is not None and span.parent.is_remote]
    assert f"{message.context.trace_id:032x}" == TRACE_ID
    assert message.parent is not None
    assert f"{message.parent.span_id:016x}" == PARENT_ID
    assert message.name == "process Pinged"
    assert message.kind is trace.SpanKind.CONSUMER
    assert message.attributes is not None
    assert message.attributes["messaging.message.conversation_id"] == "o-1"
    # What the batch wrote because of that message carries the message's span.
    sent = traceparent(outbox.records()[0].headers)
    assert sent == f"00-{TRACE_ID}-{message.context.span_id:016x}"
    # The batch span is a trace of its own, linked to both messages' spans.
    assert f"{batch.context.trace_id:032x}" != TRACE_ID
    assert len(batch.links) == 2
    assert message.context.span_id in {link.context.span_id for link in batch.links}


def test_a_failed_batch_marks_its_message_spans(tracing_on: InMemorySpanExporter) -> None:
    with pytest.raises(RuntimeError), tracing.batch_spans("effects", [Item(envelope())]):
        raise RuntimeError("boom")
    [message] = [s for s in tracing_on.get_finished_spans() if s.name == "process Pinged"]
    assert message.status.status_code is trace.StatusCode.ERROR


def test_without_a_causation_the_current_span_is_continued() -> None:
    outbox = BatchOutbox(producer="test")
    with trace.get_tracer("test").start_as_current_span("request") as span:
        outbox.put("t", Pinged(order_id="o"), correlation_id="o")
    context = span.get_span_context()
    assert traceparent(outbox.records()[0].headers) == (
        f"00-{context.trace_id:032x}-{context.span_id:016x}"
    )


def test_an_explicit_context_wins_and_a_stale_traceparent_is_replaced() -> None:
    with trace.get_tracer("test").start_as_current_span("request") as span:
        captured = tracing.capture()
    record = envelope_record("t", envelope(), b"k")
    record.headers.append(("traceparent", f"00-{TRACE_ID}-{PARENT_ID}-01".encode()))
    traced = tracing.traced(record, context=captured)
    assert [name for name, _ in traced.headers].count("traceparent") == 1
    assert f"{span.get_span_context().trace_id:032x}" in traceparent(traced.headers)


@pytest.mark.parametrize("flags", ["00", "02"])  # 02: not sampled, random trace id
def test_an_unsampled_message_passes_its_headers_on_without_a_span(
    tracing_on: InMemorySpanExporter, flags: str
) -> None:
    parent = f"00-{TRACE_ID}-{PARENT_ID}-{flags}".encode()
    incoming = Item(envelope(), headers=[("traceparent", parent), ("tracestate", b"k=v")])
    outbox = BatchOutbox(producer="test")
    with tracing.batch_spans("effects", [incoming]):
        assert incoming.envelope is not None
        outbox.put("out", Pinged(order_id="o-1"), correlation_id="o-1", causation=incoming.envelope)
    headers = outbox.records()[0].headers
    assert header_value(headers, "traceparent") == parent
    assert header_value(headers, "tracestate") == b"k=v"
    # No message span, and no batch span: nothing in the batch was sampled.
    assert tracing_on.get_finished_spans() == ()


def test_a_kept_traceparent_continues_the_trace_when_a_timer_sends_later(
    tracing_on: InMemorySpanExporter,
) -> None:
    incoming = Item(envelope(), headers=[("traceparent", f"00-{TRACE_ID}-{PARENT_ID}-01".encode())])
    assert incoming.envelope is not None
    with tracing.batch_spans("effects", [incoming]):
        kept = tracing.traceparent_of(incoming.envelope)
    [message] = [s for s in tracing_on.get_finished_spans() if s.name == "process Pinged"]
    assert kept is not None
    assert kept.startswith(f"00-{TRACE_ID}-{message.context.span_id:016x}-")
    # Later, outside any batch: what the timer sends continues the message's span.
    outbox = BatchOutbox(producer="test")
    outbox.put("out", Pinged(order_id="o-1"), correlation_id="o-1",
               trace_context=tracing.kept_context(kept))  # fmt: skip
    assert traceparent(outbox.records()[0].headers) == kept.rsplit("-", 1)[0]
    # Nothing kept: nothing to continue.
    assert tracing.kept_context(None) is None


def test_an_unsampled_traceparent_is_kept_as_it_came() -> None:
    unsampled = f"00-{TRACE_ID}-{PARENT_ID}-02"
    incoming = Item(envelope(), headers=[("traceparent", unsampled.encode())])
    assert incoming.envelope is not None
    with tracing.batch_spans("effects", [incoming]):
        assert tracing.traceparent_of(incoming.envelope) == unsampled


def test_off_keeps_no_traceparent() -> None:
    tracing.enable(False)
    incoming = Item(envelope(), headers=[("traceparent", f"00-{TRACE_ID}-{PARENT_ID}-01".encode())])
    assert incoming.envelope is not None
    assert tracing.traceparent_of(incoming.envelope) is None
    assert tracing.kept_context(f"00-{TRACE_ID}-{PARENT_ID}-01") is None
