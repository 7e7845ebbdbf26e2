"""`orderflow saga`: credential first, then the orders admin route, then the audit record.

The orders service is an httpx MockTransport and the audit trail a list, so these run
without a stack; the routes themselves are tested in services/orders/tests/integration.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from orderflow_cli import admin, stack

with warnings.catch_warnings():
    # click 8.5 deprecates names that typer 0.20 imports; the suite turns warnings into
    # errors, which would fail collection for something that is not ours to fix.
    warnings.simplefilter("ignore", DeprecationWarning)
    from typer.testing import CliRunner

    from orderflow_cli.commands import saga as saga_cmd
    from orderflow_cli.commands.saga import saga_app

TOKEN = "the-right-token"
Handler = Callable[[httpx.Request], httpx.Response]

RETRIED = {
    "order_id": "o-1", "action": "retry", "dry_run": True, "from_status": "RUNNING",
    "status": "RUNNING", "step": "AUTHORIZE_PAYMENT", "attempt": 2,
    "deadline": "2026-06-01T09:00:05Z", "reason": None, "pending_compensations": [],
    "commands": [{"topic": "payment.commands", "type": "AuthorizePayment"}], "events": [],
    "note": "operator retry: AUTHORIZE_PAYMENT resent (attempt 2)",
}  # fmt: skip


class Orders:
    """A fake orders service: answers with ``handler`` and keeps every request."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.handler: Handler = lambda request: httpx.Response(200, json=RETRIED)

    def client(self) -> httpx.Client:
        def handle(request: httpx.Request) -> httpx.Response:
            self.requests.append(request)
            return self.handler(request)

        return httpx.Client(transport=httpx.MockTransport(handle), base_url="http://orders")


@pytest.fixture
def orders(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Orders:
    monkeypatch.setenv("ORDERFLOW_HOME", str(tmp_path))
    monkeypatch.setenv("ORDERFLOW_ADMIN_TOKEN_EXPECTED", TOKEN)
    monkeypatch.delenv("ORDERFLOW_ADMIN_TOKEN", raising=False)
    monkeypatch.setenv("COLUMNS", "250")  # rich tables wrap at 80 without a terminal
    monkeypatch.setattr(stack, "read_env", lambda: {"DATABASE_URL": "postgresql://audit"})
    fake = Orders()
    monkeypatch.setattr(saga_cmd, "_client", fake.client)
    return fake


@pytest.fixture
def audit(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []

    async def record(admin_url: str, **entry: Any) -> None:
        records.append({"admin_url": admin_url, **entry})

    monkeypatch.setattr(admin, "record", record)
    return records


def run(*args: str) -> Any:
    return CliRunner().invoke(saga_app, list(args))


@pytest.mark.parametrize("token", [[], ["--admin-token", "wrong"]], ids=["missing", "wrong"])
def test_refused_credential_exits_2_audits_and_calls_nothing(
    orders: Orders, audit: list[dict[str, Any]], token: list[str]
) -> None:
    result = run("retry", "o-1", "--apply", *token)
    assert result.exit_code == 2
    assert "refused" in result.stderr
    assert orders.requests == []
    assert len(audit) == 1
    entry = audit[0]
    assert (entry["action"], entry["outcome"], entry["dry_run"]) == ("saga.retry", "refused", False)
    assert entry["scope"] == {"order_id": "o-1"}
    assert entry["admin_url"] == "postgresql://audit"


def test_dry_run_by_default_with_the_bearer_token(
    orders: Orders, audit: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ORDERFLOW_ADMIN_TOKEN", TOKEN)
    result = run("retry", "o-1")
    assert result.exit_code == 0, result.output
    (request,) = orders.requests
    assert (request.method, request.url.path) == ("POST", "/admin/sagas/o-1/retry")
    assert request.url.params["dry_run"] == "true"
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert "dry run" in result.stdout
    assert "would queue AuthorizePayment -> payment.commands" in result.stdout
    (entry,) = audit
    assert (entry["action"], entry["outcome"], entry["dry_run"]) == ("saga.retry", "ok", True)
    assert entry["scope"]["result"]["status"] == "RUNNING"


def test_compensate_apply_sends_the_reason(orders: Orders, audit: list[dict[str, Any]]) -> None:
    applied = {**RETRIED, "action": "compensate", "dry_run": False, "status": "COMPENSATING"}
    orders.handler = lambda request: httpx.Response(200, json=applied)
    result = run("compensate", "o/1", "--reason", "stuck", "--apply", "--admin-token", TOKEN)
    assert result.exit_code == 0, result.output
    (request,) = orders.requests
    assert request.url.raw_path.startswith(b"/admin/sagas/o%2F1/compensate")
    assert request.url.params["dry_run"] == "false"
    assert json.loads(request.content) == {"reason": "stuck"}
    assert "applied" in result.stdout
    (entry,) = audit
    assert entry["scope"]["reason"] == "stuck"
    assert (entry["outcome"], entry["dry_run"]) == ("ok", False)


@pytest.mark.parametrize(
    ("status", "outcome", "code"),
    [(409, "not_allowed", 1), (404, "not_found", 1), (401, "refused", 2), (503, "refused", 2)],
)
def test_service_refusal_is_shown_and_audited(
    orders: Orders, audit: list[dict[str, Any]], status: int, outcome: str, code: int
) -> None:
    detail = "only a saga whose compensation failed can be resolved; this one is running"
    orders.handler = lambda request: httpx.Response(status, json={"detail": detail})
    result = run("resolve", "o-1", "--note", "by hand", "--admin-token", TOKEN)
    assert result.exit_code == code
    assert "compensation failed" in result.stderr
    (entry,) = audit
    assert (entry["action"], entry["outcome"]) == ("saga.resolve", outcome)
    assert entry["scope"] == {"order_id": "o-1", "note": "by hand"}


def test_list_asks_for_stuck_sagas(orders: Orders) -> None:
    rows = [{"order_id": "o-1", "status": "RUNNING", "step": "RESERVE_STOCK", "attempt": 1,
             "deadline": None, "reason": None, "updated_at": "x", "idle_s": 700.0}]  # fmt: skip
    orders.handler = lambda request: httpx.Response(200, json=rows)
    result = run("list", "--status", "running", "--stuck-for", "600", "--limit", "5", "--json")
    assert result.exit_code == 0, result.output
    (request,) = orders.requests
    assert request.url.path == "/admin/sagas"
    assert dict(request.url.params) == {"older_than_s": "600.0", "limit": "5", "status": "RUNNING"}
    assert "authorization" not in request.headers
    assert json.loads(result.stdout) == rows


def test_show_prints_state_and_timeline(orders: Orders) -> None:
    view = {
        "order_id": "o-1", "status": "COMPENSATION_FAILED", "step": "CANCEL_SHIPMENT",
        "reason": "shipment not cancelled: already dispatched", "customer_id": "c-1",
        "total_minor": 1990, "currency": "EUR", "lines": [], "deadline": None,
        "fulfilment": {"shipment_created": True, "dispatched": True, "delivered": False},
        "created_at": "t0", "updated_at": "t1",
        "timeline": [{"at": "t1", "kind": "reply", "message_type": "ShipmentCancellationFailed",
                      "from_status": "COMPENSATING", "to_status": "COMPENSATION_FAILED",
                      "step": "CANCEL_SHIPMENT", "commands": [], "note": "compensation failed"}],
    }  # fmt: skip
    orders.handler = lambda request: httpx.Response(200, json=view)
    result = run("show", "o-1")
    assert result.exit_code == 0, result.output
    assert orders.requests[0].url.path == "/orders/o-1"
    assert "COMPENSATION_FAILED" in result.stdout
    assert "already dispatched" in result.stdout
    assert "ShipmentCancellationFailed" in result.stdout


def test_show_of_unknown_order_fails(orders: Orders) -> None:
    orders.handler = lambda request: httpx.Response(404, json={"detail": "unknown order 'x'"})
    result = run("show", "x")
    assert result.exit_code == 1
    assert "unknown order" in result.stderr


def test_registered_in_the_orderflow_command(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from orderflow_cli.main import app

    # The command's callback adopts the stack's login into os.environ: read no real stack.
    monkeypatch.setenv("ORDERFLOW_HOME", str(tmp_path))
    result = CliRunner().invoke(app, ["saga", "--help"])
    assert result.exit_code == 0
    for command in ("list", "show", "retry", "compensate", "resolve"):
        assert command in result.stdout
