"""`orderflow bench` and the pure parts of the repository's bench/: the arguments the
command passes on, per-mode verdicts (sustained, overloaded, skipping), the fields of
latest.json, latest.md, and a valid upstream submission for the Kafka door."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from orderflow_cli.commands.bench import FULL, QUICK, Mode, run_args
from orderflow_contracts import registry
from orderflow_contracts.inbound import SubmitOrder

# bench/ is not a package of its own: import it from the checkout.
ROOT = Path(__file__).resolve().parents[4]
if str(ROOT) not in sys.path:
    sys.path.append(str(ROOT))
report = importlib.import_module("bench.report")
load = importlib.import_module("bench.load")
run = importlib.import_module("bench.run")
door = importlib.import_module("bench.door")
plot = importlib.import_module("bench.plot")


def _row(mode: str, target: float, achieved: float, **changes: Any) -> dict[str, Any]:
    placed = int(target * 20)
    row: dict[str, Any] = {
        "mode": mode,
        "target_orders_per_s": target,
        "achieved_orders_per_s": achieved,
        "placed": placed,
        "refused": 0,
        "completed": int(achieved * 20),
        "p50_ms": 100.0,
        "p95_ms": 200.0,
        "p99_ms": 300.0,
        "lag_start": 0,
        "lag_end": 0,
        "outbox_backlog_end": 0,
        "generator_lag_ms": 9.5 if mode == "kafka" else None,
        "cpu_ms_per_order": 40.0,
        "cpu_ms_per_order_by_process": {"kafka": 10.0, "orders": 20.0, "postgres": 10.0},
        "processes": {"kafka": {"cpu_s": 1.0, "cpu_pct": 5.0, "rss_mb": 100}},
        "hops": [],
        "loadavg_1m": 1.0,
    }
    row.update(changes)
    row["sustained"] = report.sustained(row)
    return row


KAFKA_ROWS = [
    _row("kafka", 100, 100.0, cpu_ms_per_order=30.0),
    _row("kafka", 200, 199.0, p99_ms=450.0, cpu_ms_per_order=25.0),
    _row("kafka", 400, 250.0, p99_ms=5000.0, lag_start=0, lag_end=3000),
]
HTTP_ROWS = [_row("http", 50, 50.0), _row("http", 300, 120.0, p99_ms=2500.0)]
BURST = {
    "n": 1000, "completed": 1000, "other_terminal": 0, "rejected_at_door": 0,
    "unfinished": 0, "timed_out": False, "produce_s": 0.2, "seconds": 4.0,
    "orders_per_s": 250.0, "p50_ms": 2000.0, "p95_ms": 3800.0, "p99_ms": 3950.0,
    "cpu_ms_per_order": 35.0,
    "cpu_ms_per_order_by_process": {"checkout": 5.0, "kafka": 10.0, "postgres": 20.0},
    "processes": {},
}  # fmt: skip
KAFKA_CEILING = {"msgs_per_s": 34000, "produce_msgs_per_s": 40000, "consume_msgs_per_s": 300000}
PG_CEILING = {"txn_per_s": 2000, "cores": 2, "workers": 8}


def _result(**steps: list[dict[str, Any]]) -> dict[str, Any]:
    return report.summarize(steps, KAFKA_CEILING, PG_CEILING, BURST, "2026-12-05T12:00:00+00:00")


def test_verdicts_per_step() -> None:
    fine, _, behind = KAFKA_ROWS
    assert report.sustained(fine)
    assert not report.overloaded(fine)
    assert not report.sustained(behind)
    assert report.overloaded(behind)
    slow_only = _row("http", 50, 50.0, p99_ms=1500.0)
    assert not report.sustained(slow_only)
    assert not report.overloaded(slow_only)
    lost = _row("kafka", 50, 50.0, completed=900)  # 900 of 1000 placed
    assert report.overloaded(lost)
    assert not report.sustained(lost)


def test_skipping_counts_trailing_overloaded_steps_only() -> None:
    behind = _row("kafka", 800, 200.0)
    assert report.trailing_overloaded([]) == 0
    assert report.trailing_overloaded([behind, KAFKA_ROWS[0]]) == 0
    assert report.trailing_overloaded([KAFKA_ROWS[0], behind, behind]) == 2


def test_headline_rate_is_added_per_mode_when_spanned() -> None:
    assert report.with_headline_rate([50, 100, 400], "kafka") == [50, 100, 200, 400]
    assert report.with_headline_rate([50, 100, 400], "http") == [50, 100, 300, 400]
    assert report.with_headline_rate([5, 10], "kafka") == [5, 10]
    assert report.with_headline_rate([400, 800], "kafka") == [400, 800]
    assert report.with_headline_rate([], "http") == []


def test_summary_fields_per_mode() -> None:
    result = _result(kafka=KAFKA_ROWS, http=HTTP_ROWS)
    assert result["modes"] == ["kafka", "http"]
    assert result["max_sustained_orders_per_s"] == {"kafka": 199.0, "http": 50.0}
    assert result["cpu_ms_per_order_at_max_sustained"] == {"kafka": 25.0, "http": 40.0}
    assert result["p99_ms_at_200_kafka"] == 450.0
    assert result["p99_ms_at_300_http"] == 2500.0
    assert result["ceiling_kafka_msgs_per_s"] == 34000
    assert result["ceiling_pg_txn_per_s"] == 2000
    assert result["ratio_to_kafka_ceiling"]["kafka"] == round(199.0 * 17 / 34000, 3)
    assert result["ratio_to_pg_ceiling"]["http"] == round(50.0 * 20 / 2000, 3)
    assert result["burst"]["orders_per_s"] == 250.0
    assert result["steps"] == {"kafka": KAFKA_ROWS, "http": HTTP_ROWS}
    json.dumps(result)  # latest.json


def test_summary_of_one_mode_and_nothing_sustained() -> None:
    result = _result(kafka=[KAFKA_ROWS[2]])
    assert result["modes"] == ["kafka"]
    assert result["max_sustained_orders_per_s"] == {"kafka": 0, "http": None}
    assert result["cpu_ms_per_order_at_max_sustained"] == {"kafka": None, "http": None}
    assert result["p99_ms_at_200_kafka"] is None
    assert result["p99_ms_at_300_http"] is None
    assert "http" not in result["steps"]


def test_markdown_has_a_table_per_mode_the_burst_and_cpu_per_process() -> None:
    text = report.markdown(_result(kafka=KAFKA_ROWS, http=HTTP_ROWS))
    assert "kafka **199.0 orders/s**, http **50.0 orders/s**" in text
    assert "## Kafka door" in text
    assert "## HTTP" in text
    assert "## Burst (Kafka door)" in text
    assert "| 200 | 199.0 | 4000 | 0 | 0 | 100.0 | 200.0 | 450.0 |" in text
    assert "| target/s | kafka | orders | postgres | total |" in text
    assert "| 1000 | 5.0 | 10.0 | 20.0 | 35.0 |" in text  # the burst, per process
    assert "**250.0 orders/s**" in text
    assert text.rstrip().endswith("![throughput vs latency](latest.png)")
    assert "latest.png" not in report.markdown(_result(kafka=KAFKA_ROWS), None)


def test_plot_shows_both_modes(tmp_path: Path) -> None:
    path = plot.write_plot(_result(kafka=KAFKA_ROWS, http=HTTP_ROWS), tmp_path / "p.png")
    assert path.stat().st_size > 10_000


def test_cpu_per_order_in_all_and_per_process() -> None:
    processes = {"kafka": {"cpu_s": 2.0}, "postgres": {"cpu_s": 3.0}}
    assert load.cpu_ms_per_order(processes, 100) == (50.0, {"kafka": 20.0, "postgres": 30.0})
    assert load.cpu_ms_per_order(processes, 0) == (None, {})


def test_step_row_carries_mode_and_cpu_per_process() -> None:
    step = load.Step(rate=100, seconds=10, mode="kafka", placed=1000, completed=1000)
    step.latencies_ms = [float(i) for i in range(1, 101)]
    step.processes = {"orders": {"cpu_s": 20.0, "cpu_pct": 50.0, "rss_mb": 80}}
    row = step.row()
    assert row["mode"] == "kafka"
    assert row["achieved_orders_per_s"] == 100.0
    assert row["cpu_ms_per_order"] == 20.0
    assert row["cpu_ms_per_order_by_process"] == {"orders": 20.0}
    assert row["p50_ms"] == 50.5
    assert row["p99_ms"] == 99.0


def test_mode_rates() -> None:
    assert run.mode_rates("both", None, None) == {
        "kafka": [float(r) for r in run.KAFKA_RATES.split(",")],
        "http": [float(r) for r in run.HTTP_RATES.split(",")],
    }
    assert run.mode_rates("kafka", "5", None) == {"kafka": [5.0]}
    assert run.mode_rates("http", "5", None) == {"http": [5.0]}
    assert run.mode_rates("both", "5,10", "7") == {"kafka": [5.0, 10.0], "http": [7.0]}


def test_default_rates_reach_the_limit() -> None:
    kafka = [float(r) for r in run.KAFKA_RATES.split(",")]
    assert 200.0 in kafka
    assert max(kafka) >= 1200
    assert FULL["rates"] == run.KAFKA_RATES
    assert FULL["http_rates"] == run.HTTP_RATES


def test_submission_is_a_valid_submit_order_v2() -> None:
    record = door.submission("bench-abc-7", 7)
    decoded = registry().decode(record.value)
    assert isinstance(decoded.message, SubmitOrder)
    assert decoded.message.reference == "bench-abc-7"
    assert decoded.message.payment_token == "tok_ok"
    assert decoded.envelope.correlation_id == "bench-abc-7"
    assert record.key == b"bench-abc-7"
    assert ("correlation_id", b"bench-abc-7") in record.headers
    assert ("type", b"SubmitOrder") in record.headers


def test_run_args_full_and_quick() -> None:
    args = run_args()
    assert args[:2] == ["-m", "bench.run"]
    given = dict(zip(args[2::2], args[3::2], strict=True))
    assert given["--mode"] == "both"
    assert given["--rates"] == FULL["rates"]
    assert given["--http-rates"] == FULL["http_rates"]
    assert given["--burst"] == str(FULL["burst"])
    quick = dict(zip(run_args(quick=True)[2::2], run_args(quick=True)[3::2], strict=True))
    assert quick["--rates"] == QUICK["rates"]
    assert quick["--seconds"] == "10.0"
    assert quick["--burst"] == str(QUICK["burst"])


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        (
            {"mode": Mode.kafka, "rates": "5"},
            {"--mode": "kafka", "--rates": "5", "--http-rates": "5"},
        ),
        ({"rates": "5", "http_rates": "9"}, {"--rates": "5", "--http-rates": "9"}),
        ({"burst": 0}, {"--burst": "0"}),
        ({"out": Path("/tmp/x")}, {"--out": "/tmp/x"}),
    ],
)
def test_run_args_overrides(kwargs: dict[str, Any], expected: dict[str, str]) -> None:
    args = run_args(**kwargs)
    given = dict(zip(args[2::2], args[3::2], strict=True))
    assert {k: given[k] for k in expected} == expected


async def test_the_http_offer_sends_a_deferred_request_again_with_its_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A 503 with Retry-After is waited out and the same request (same Idempotency-Key)
    sent again, as is a request whose connection was lost; a 422 is counted as refused;
    a 202's order id is placed."""
    from aiohttp import ClientSession, web

    seen: dict[str, int] = {}

    async def orders(request: web.Request) -> web.Response:
        key = request.headers["Idempotency-Key"]
        body = await request.json()
        seen[key] = seen.get(key, 0) + 1
        if body["customer_id"].endswith("1"):
            return web.json_response({"detail": [{"field": "", "reason": "no"}]}, status=422)
        if seen[key] == 1 and body["customer_id"].endswith("0"):
            return web.json_response({}, status=503, headers={"Retry-After": "0"})
        if seen[key] == 1 and body["customer_id"].endswith("2"):
            assert request.transport is not None
            request.transport.close()  # the connection is lost before any answer
            return web.Response(status=500)
        return web.json_response({"order_id": f"o-{key}", "status": "PENDING"}, status=202)

    app = web.Application()
    app.router.add_post("/orders", orders)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    monkeypatch.setattr(load.services, "url", lambda name: f"http://127.0.0.1:{port}")
    monkeypatch.setattr(load, "_body", lambda i: {"customer_id": f"c-{i}"})
    try:
        async with ClientSession() as session:
            progress = await load.http_offer(session, load.Step(rate=100.0, seconds=0.03))()
            offered = progress()
    finally:
        await runner.cleanup()

    assert len(offered.placed) == 2  # orders 0 (after its 503) and 2 (after the loss)
    assert offered.refused == 1  # order 1's 422
    assert offered.deferred == 1  # the 503; a lost connection is not a deferral
    assert sorted(seen.values()) == [1, 2, 2]  # orders 0's and 2's keys were sent twice
    assert all(order_id.startswith("o-") for order_id in offered.placed)
