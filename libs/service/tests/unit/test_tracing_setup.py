"""The service's tracing set-up: off by default, the root sampler, the file exporter."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import Decision
from opentelemetry.trace import SpanKind

from orderflow_service.tracing import NewTraces, TracingSettings, _exporter, setup_tracing


def test_tracing_is_off_unless_an_exporter_is_chosen(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRACING_EXPORTER", raising=False)
    settings = TracingSettings()
    assert not settings.on
    assert setup_tracing("payment", settings) is None


def test_parentless_sql_statements_start_no_trace() -> None:
    sampler = NewTraces(1.0)
    dropped = sampler.should_sample(None, 1, "SELECT", SpanKind.CLIENT)
    kept = sampler.should_sample(None, 1, "POST /orders", SpanKind.SERVER)
    assert dropped.decision is Decision.DROP
    assert kept.decision is Decision.RECORD_AND_SAMPLE
    assert NewTraces(0.0).should_sample(None, 1, "batch").decision is Decision.DROP


def test_the_file_exporter_writes_one_json_span_per_line(tmp_path: Path) -> None:
    exporter = _exporter("payment", TracingSettings(exporter="file", file_dir=tmp_path))
    provider = TracerProvider()
    tracer = provider.get_tracer("test")
    for name in ("a", "b"):
        with tracer.start_as_current_span(name) as span:
            pass
        exporter.export([span])  # type: ignore[list-item]
    [path] = tmp_path.glob("payment-*.jsonl")
    names = [json.loads(line)["name"] for line in path.read_text().splitlines()]
    assert names == ["a", "b"]
