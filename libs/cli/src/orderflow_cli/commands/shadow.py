"""`orderflow shadow saga`: how a developer checks a change to the saga before deploying it.

Every selected order's recorded inputs (orders.saga_history, and the messages it names,
read back from the Kafka topics) are re-run through the saga code of this checkout with
every command and event suppressed; the resulting states are compared with the live ones.
Nothing is published and nothing is written. The replay is only meaningful under the
policy (deadlines, retry budgets) the live service ran with: pass it with the options.

The work is split: shadow_replay.py (pure replay and diff), shadow_sources.py (reading
the database and the topics), shadow_report.py (the whole run); this module is the
command line, and imports those only when a command runs (they load the orders service);
in-process callers (tests passing a changed saga) use shadow_report.shadow_saga.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from orderflow_cli import stack

if TYPE_CHECKING:
    from orderflow_cli.commands.shadow_report import ShadowReport

shadow_app = typer.Typer(
    no_args_is_help=True,
    help="Shadow replays: recorded inputs through the current code, nothing published.",
)
console = Console()
err = Console(stderr=True)


@shadow_app.command("saga")
def saga(
    order: Annotated[
        list[str] | None,
        typer.Option("--order", help="only this order (repeatable); default: every saga"),
    ] = None,
    since: str | None = typer.Option(
        None, "--since", help="only sagas created at or after this ISO time (UTC if no zone)"
    ),
    step_timeout_s: float | None = typer.Option(
        None, "--step-timeout-s", min=0.001, help="as ORDERS_STEP_TIMEOUT_S of the live run"
    ),
    step_retries: int | None = typer.Option(
        None, "--step-retries", min=0, help="as ORDERS_STEP_RETRIES of the live run"
    ),
    compensation_retries: int | None = typer.Option(
        None, "--compensation-retries", min=0, help="as ORDERS_COMPENSATION_RETRIES"
    ),
    as_json: bool = typer.Option(False, "--json", help="machine-readable output"),
) -> None:
    """Replay recorded saga inputs through the current transitions (commands suppressed)
    and show how the resulting states differ from the live ones; exit 1 if any does."""
    from orderflow_cli.commands.shadow_report import default_policy, shadow_saga

    settings = stack.read_env()
    if not settings:
        err.print("[bold red]the stack is not up:[/] run `orderflow up` first")
        raise typer.Exit(1)
    policy = default_policy(step_timeout_s, step_retries, compensation_retries)
    report = asyncio.run(
        shadow_saga(
            settings["DATABASE_URL"],
            settings["KAFKA_BOOTSTRAP_SERVERS"],
            order_ids=order,
            since=_instant(since),
            policy=policy,
        )
    )
    if as_json:
        print(json.dumps(report.as_json()))
    else:
        _print(report)
    if not report.ok:
        raise typer.Exit(1)


def _instant(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"not an ISO time: {text!r}", param_hint="--since") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _print(report: ShadowReport) -> None:
    if report.different:
        table = Table("order", "field", "live", "shadow", title="shadow replay: differences")
        for result in report.different:
            assert result.shadow is not None
            for name in result.fields:
                live, shadow = _shown(result.live[name]), _shown(result.shadow[name])
                table.add_row(result.order_id, name, live, shadow)
        console.print(table)
    for result in report.not_replayable:
        console.print(f"[yellow]not replayable[/] {result.order_id}: {result.problem}")
    policy = report.policy
    console.print(
        f"{len(report.results)} order(s) replayed: "
        f"{sum(r.same for r in report.results)} same, {len(report.different)} different, "
        f"{len(report.not_replayable)} not replayable (policy: step timeout "
        f"{policy.step_timeout.total_seconds():g} s, {policy.step_retries} step retries, "
        f"{policy.compensation_retries} compensation retries)"
    )


def _shown(value: Any) -> str:
    if isinstance(value, dict):  # the facts: the confirmed ones
        return ", ".join(name for name, known in value.items() if known) or "none"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "none"
    return "-" if value is None else str(value)


def replay_saga(
    shadow: bool = typer.Option(
        False, "--shadow", help="required: run the current saga code on the recorded inputs"
    ),
    order: Annotated[
        list[str] | None,
        typer.Option("--order", help="only this order (repeatable); default: every saga"),
    ] = None,
    since: str | None = typer.Option(None, "--since", help="only sagas created since (ISO)"),
    step_timeout_s: float | None = typer.Option(None, "--step-timeout-s", min=0.001),
    step_retries: int | None = typer.Option(None, "--step-retries", min=0),
    compensation_retries: int | None = typer.Option(None, "--compensation-retries", min=0),
    as_json: bool = typer.Option(False, "--json", help="machine-readable output"),
) -> None:
    """`orderflow replay saga --shadow`: the same as `orderflow shadow saga`. Replaying a
    saga for real would resend its commands, so only the shadow form exists."""
    if not shadow:
        err.print("replaying sagas is only possible as a shadow run: add --shadow")
        raise typer.Exit(2)
    saga(order, since, step_timeout_s, step_retries, compensation_retries, as_json)
