"""`orderflow saga`: the operators' saga console (docs/saga.md, "Operator console").

``list`` and ``show`` only read, through the orders HTTP API. ``retry``, ``compensate``
and ``resolve`` call its ``/admin/sagas`` routes with the admin credential as a bearer
token; a dry run unless ``--apply`` (the service computes the outcome and rolls it back),
and audited either way, including when the credential is refused.
"""

from __future__ import annotations

import asyncio
import json
from typing import Annotated, Any
from urllib.parse import quote

import asyncpg
import httpx
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from orderflow_cli import admin, stack
from orderflow_cli.stack import services

saga_app = typer.Typer(
    no_args_is_help=True,
    help="The saga console: list stuck sagas, show one, retry, compensate, resolve (audited).",
)
console = Console()
err = Console(stderr=True)

# An orders service that stops answering must not hang an operator's shell.
_HTTP_TIMEOUT_S = 10.0
# HTTP answers of a refused action -> (audit outcome, exit code); 2 as for a bad credential.
_FAILURES: dict[int, tuple[str, int]] = {
    401: ("refused", 2),
    503: ("refused", 2),
    422: ("invalid", 2),
    404: ("not_found", 1),
    409: ("not_allowed", 1),
}

Json = Annotated[bool, typer.Option("--json", help="machine-readable output")]
Apply = Annotated[bool, typer.Option("--apply", help="act (default: dry run, nothing changes)")]
AdminToken = Annotated[
    str | None,
    typer.Option("--admin-token", envvar="ORDERFLOW_ADMIN_TOKEN", help="the admin credential"),
]
OrderId = Annotated[str, typer.Argument(help="the order (and saga) id")]


def _client() -> httpx.Client:
    return httpx.Client(base_url=services.url("orders"), timeout=_HTTP_TIMEOUT_S)


def _detail(response: httpx.Response) -> str:
    try:
        return str(response.json()["detail"])
    except (ValueError, KeyError, TypeError):
        return response.text or response.reason_phrase


def _get(path: str, params: dict[str, Any] | None = None) -> Any:
    try:
        with _client() as client:
            response = client.get(path, params=params)
    except httpx.HTTPError as exc:
        err.print(f"[bold red]orders service unreachable[/] at {services.url('orders')}: {exc}")
        raise typer.Exit(1) from exc
    if not response.is_success:
        err.print(f"[bold red]HTTP {response.status_code}:[/] {escape(_detail(response))}")
        raise typer.Exit(1)
    return response.json()


@saga_app.command("list")
def list_command(
    status: Annotated[
        str | None, typer.Option(help="only this status (default: every unfinished one)")
    ] = None,
    stuck_for: Annotated[
        float, typer.Option("--stuck-for", min=0, help="idle at least SECONDS", metavar="SECONDS")
    ] = 0.0,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
    as_json: Json = False,
) -> None:
    """Sagas not updated for --stuck-for seconds, longest idle first."""
    params: dict[str, Any] = {"older_than_s": stuck_for, "limit": limit}
    if status:
        params["status"] = status.upper()
    rows = _get("/admin/sagas", params)
    if as_json:
        print(json.dumps(rows))
        return
    table = Table("order", "status", "step", "attempt", "idle", "deadline", "reason")
    for r in rows:
        table.add_row(
            escape(r["order_id"]), r["status"], r["step"] or "-", str(r["attempt"]),
            f"{r['idle_s']:.0f} s", r["deadline"] or "-", escape(r["reason"] or ""),
        )  # fmt: skip
    console.print(table)
    console.print(f"{len(rows)} saga(s)")


@saga_app.command("show")
def show_command(order_id: OrderId, as_json: Json = False) -> None:
    """One saga: state, current step, deadline, reason and its whole timeline."""
    view = _get(f"/orders/{quote(order_id, safe='')}")
    if as_json:
        print(json.dumps(view))
        return
    for label, value in [
        ("order", view["order_id"]),
        ("status", view["status"]),
        ("step", view["step"] or "-"),
        ("deadline", view["deadline"] or "-"),
        ("reason", view["reason"] or "-"),
        ("total", f"{view['total_minor']} {view['currency']} (customer {view['customer_id']})"),
        ("fulfilment", ", ".join(k for k, done in view["fulfilment"].items() if done) or "-"),
        ("updated", view["updated_at"]),
    ]:
        console.print(f"[bold]{label:<11}[/]{escape(str(value))}")
    table = Table("at", "kind", "status", "step", "message", "commands", "note", title="timeline")
    for h in view["timeline"]:
        table.add_row(
            h["at"], h["kind"], f"{h['from_status'] or '-'} -> {h['to_status']}",
            h["step"] or "-", h["message_type"] or "-", ", ".join(h["commands"]),
            escape(h["note"]),
        )  # fmt: skip
    console.print(table)


@saga_app.command("retry")
def retry_command(order_id: OrderId, apply: Apply = False, admin_token: AdminToken = None) -> None:
    """Resend the in-flight step's command now (RUNNING or COMPENSATING sagas)."""
    _act("retry", order_id, None, apply, admin_token)


@saga_app.command("compensate")
def compensate_command(
    order_id: OrderId,
    reason: Annotated[str, typer.Option(help="why (becomes the saga's reason)")],
    apply: Apply = False,
    admin_token: AdminToken = None,
) -> None:
    """Compensate a RUNNING saga, a COMPLETED one before dispatch, or restart a
    COMPENSATION_FAILED one from the step that failed."""
    _act("compensate", order_id, {"reason": reason}, apply, admin_token)


@saga_app.command("resolve")
def resolve_command(
    order_id: OrderId,
    note: Annotated[str, typer.Option(help="what was done by hand (becomes the reason)")],
    apply: Apply = False,
    admin_token: AdminToken = None,
) -> None:
    """Close a COMPENSATION_FAILED saga that was settled by hand: RESOLVED, nothing sent."""
    _act("resolve", order_id, {"note": note}, apply, admin_token)


def _act(
    action: str, order_id: str, body: dict[str, str] | None, apply: bool, token: str | None
) -> None:
    settings = stack.read_env()
    if not settings:
        err.print("[bold red]the stack is not up:[/] run `orderflow up` first")
        raise typer.Exit(1)
    scope: dict[str, Any] = {"order_id": order_id, **(body or {})}

    def audit(outcome: str) -> None:
        _audit(settings["DATABASE_URL"], f"saga.{action}", scope, not apply, outcome, token)

    try:
        admin.require_admin(token)
    except admin.AdminError as exc:
        audit("refused")
        err.print(f"[bold red]refused:[/] {exc}")
        raise typer.Exit(2) from exc
    try:
        with _client() as client:
            response = client.post(
                f"/admin/sagas/{quote(order_id, safe='')}/{action}",
                params={"dry_run": "false" if apply else "true"},
                json=body,
                headers={"Authorization": f"Bearer {token}"},
            )
    except httpx.HTTPError as exc:
        audit("failed")
        err.print(f"[bold red]orders service unreachable[/] at {services.url('orders')}: {exc}")
        raise typer.Exit(1) from exc
    if not response.is_success:
        outcome, code = _FAILURES.get(response.status_code, ("failed", 1))
        audit(outcome)
        err.print(f"[bold red]{action} {outcome}:[/] {escape(_detail(response))}")
        raise typer.Exit(code)
    result = response.json()
    scope["result"] = {k: result[k] for k in ("from_status", "status", "step", "commands")}
    audit("ok")
    _print_result(result)


def _audit(
    url: str, action: str, scope: dict[str, Any], dry_run: bool, outcome: str, token: str | None
) -> None:
    """An unwritable audit trail is reported, not raised: the action (or refusal) has
    already happened and the operator must see its result."""
    try:
        asyncio.run(
            admin.record(
                url, action=action, scope=scope, dry_run=dry_run, outcome=outcome, token=token
            )
        )
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        err.print(f"[bold yellow]audit record not written:[/] {exc}")


def _print_result(result: dict[str, Any]) -> None:
    applied = not result["dry_run"]
    head = "applied" if applied else "dry run, nothing changed (add --apply to act)"
    console.print(f"[bold]saga {result['action']}[/] {escape(result['order_id'])}: {head}")
    lines = [
        ("status", f"{result['from_status']} -> {result['status']}"),
        ("step", f"{result['step'] or '-'} (attempt {result['attempt']})"),
        ("deadline", result["deadline"] or "-"),
    ]
    if result["pending_compensations"]:
        lines.append(("then", ", ".join(result["pending_compensations"])))
    verb = "queued" if applied else "would queue"
    lines += [(verb, f"{c['type']} -> {c['topic']}") for c in result["commands"]]
    lines += [("event", event) for event in result["events"]]
    lines += [("reason", result["reason"] or "-"), ("note", result["note"])]
    for label, text in lines:
        console.print(f"  {label:<12}{escape(text)}")
