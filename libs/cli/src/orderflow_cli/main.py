"""``orderflow``: the command line of the local stack and of operations."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import threading
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from orderflow_cli import stack
from orderflow_cli.commands.bench import bench
from orderflow_cli.commands.dlq import dlq_app
from orderflow_cli.commands.replay import projection_app, replay_app
from orderflow_cli.commands.replay_recommendations import bought_together
from orderflow_cli.commands.saga import saga_app
from orderflow_cli.commands.shadow import replay_saga, shadow_app
from orderflow_cli.stack_env import settings_or_exit

app = typer.Typer(
    no_args_is_help=True, add_completion=False, help=__doc__, pretty_exceptions_enable=False
)
console = Console()
err = Console(stderr=True)

_STATE_STYLE = {"up": "green", "external": "cyan", "down": "dim", "crashed": "bold red"}


@app.callback()
def _login() -> None:
    """Every command's Kafka clients log in as the stack's operator (stack.env)."""
    stack.read_env()


SCALE_HELP = (
    "SERVICE=N: run N replicas of a service as one consumer group (repeatable; replicas "
    "beyond the partition count of its topics stand by)"
)


@app.command()
def up(
    kafka_bootstrap: str | None = typer.Option(
        None, "--kafka", envvar="ORDERFLOW_EXTERNAL_KAFKA", help="use this broker, start none"
    ),
    database_url: str | None = typer.Option(
        None,
        "--database-url",
        envvar="ORDERFLOW_EXTERNAL_DATABASE_URL",
        help="admin URL of a PostgreSQL server to use instead of the embedded one",
    ),
    infra_only: bool = typer.Option(False, "--infra-only", help="Kafka and PostgreSQL only"),
    scale: Annotated[list[str] | None, typer.Option("--scale", help=SCALE_HELP)] = None,
) -> None:
    """Start Kafka, PostgreSQL and every service in the background (no-op for what runs)."""
    try:
        replicas = parse_scale(scale or [])
        with console.status("starting the local stack..."):
            stack.up(
                kafka_bootstrap=kafka_bootstrap,
                database_url=database_url,
                with_services=not infra_only,
                scale=replicas,
            )
    except (stack.StackError, ValueError) as exc:
        err.print(f"[bold red]orderflow up failed:[/] {exc}")
        raise typer.Exit(1) from exc
    _print_status(stack.status(partitions=bool(scale)))
    console.print(f"settings: {stack.stack_env_path()}")


@app.command()
def provision(
    database_url: str = typer.Option(
        ...,
        "--database-url",
        envvar="ORDERFLOW_ADMIN_DATABASE_URL",
        help="admin URL of the PostgreSQL database to provision",
    ),
    migrate: bool = typer.Option(True, help="run every service's migrations as its role"),
) -> None:
    """A deployment's migration job: create the database, one role and schema per
    service (passwords from ORDERFLOW_DB_PASSWORD_<SERVICE>), then run every service's
    migrations. Idempotent; services still migrate at start (a no-op after this)."""
    from orderflow_cli.stack import provision as roles

    try:
        passwords = roles.passwords_from_env(os.environ)
    except ValueError as exc:
        err.print(f"[bold red]orderflow provision failed:[/] {exc}")
        raise typer.Exit(2) from exc
    database = database_url.rsplit("/", 1)[1].split("?", 1)[0]
    asyncio.run(roles.ensure_database(database_url, database))
    asyncio.run(roles.provision(database_url, passwords))
    console.print(f"roles and schemas: {', '.join(sorted(passwords))}")
    if migrate:
        roles.migrate_all(database_url, passwords)
        console.print("migrations: every service at head")


@app.command()
def down() -> None:
    """Stop everything `up` started; no process is left behind."""
    stack.down()
    _print_status(stack.status())


@app.command()
def status(
    as_json: bool = typer.Option(False, "--json", help="machine-readable output"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no output; exit 0 only if all up"),
    infra_only: bool = typer.Option(False, "--infra-only", help="judge Kafka and PostgreSQL only"),
    partitions: bool = typer.Option(
        True, "--partitions/--no-partitions", help="each service replica's partitions"
    ),
) -> None:
    """Show each component's state and address (and each service replica's partitions);
    exit 1 unless everything started is up."""
    rows = stack.status(partitions=partitions and not quiet)
    if as_json:
        console.print_json(json.dumps({"components": stack.as_dicts(rows)}))
    elif not quiet:
        _print_status(rows)
    if not stack.healthy(rows, infra_only=infra_only):
        raise typer.Exit(1)


def _print_status(rows: list[stack.ComponentStatus]) -> None:
    with_partitions = any(row.partitions for row in rows)
    table = Table("component", "state", "address", *(["partitions"] if with_partitions else []))
    for row in rows:
        style = _STATE_STYLE.get(row.state, "yellow")
        cells = [row.name, f"[{style}]{row.state}[/]", row.address]
        table.add_row(*cells, *([row.partitions] if with_partitions else []))
    console.print(table)


def parse_scale(items: list[str]) -> dict[str, int]:
    """["payment=3", "orders=2"] -> {"payment": 3, "orders": 2}."""
    scale: dict[str, int] = {}
    for item in items:
        name, _, count = item.partition("=")
        if not name or not count.isdigit() or int(count) < 1:
            raise ValueError(f"--scale takes SERVICE=N with N >= 1, not {item!r}")
        scale[name.strip()] = int(count)
    return scale


@app.command()
def demo(
    orders: int = typer.Option(200, "--orders", "-n", min=1, max=100_000),
    as_json: bool = typer.Option(False, "--json", help="one JSON object, no progress bar"),
    timeout: float = typer.Option(240.0, help="seconds to wait for every order to finish"),
    seed: int | None = typer.Option(None, help="random seed for a reproducible mix"),
    rate: float = typer.Option(15.0, min=0, help="orders per second (0: all at once)"),
) -> None:
    """Place ORDERS orders with a realistic mix and wait until every one is terminal."""
    from orderflow_cli.demo import run_demo

    settings = settings_or_exit()
    result = asyncio.run(
        run_demo(
            orders,
            settings["DATABASE_URL"],
            settings["KAFKA_BOOTSTRAP_SERVERS"],
            timeout_s=timeout,
            seed=seed,
            rate=rate,
            show_progress=not as_json,
        )
    )
    summary = result.summary()
    if as_json:
        print(json.dumps(summary))
    else:
        _print_summary(summary)
    if summary["pending"] or summary["returns"]["pending"]:
        raise typer.Exit(1)


def _print_summary(summary: dict[str, Any]) -> None:
    table = Table("outcome", "orders", title="demo summary")
    for key in ("completed", "rejected", "cancelled", "compensation_failed", "pending"):
        table.add_row(key, str(summary[key]))
    table.add_row("[dim]refused by checkout (HTTP 4xx)[/]", str(summary["http_rejected"]))
    table.add_row("[bold]total[/]", str(summary["orders"]))
    console.print(table)
    door = summary["upstream"]
    console.print(
        f"upstream door: {door['submitted']} submitted ({door['accepted']} accepted), "
        f"{door['cancellations']} cancelled by the upstream ({door['cancellations_accepted']} "
        f"accepted, {door['cancellations_refused']} refused), {door['unanswered']} unanswered"
    )
    returns = summary["returns"]
    console.print(
        f"returns: {returns['requested']} requested, {returns['completed']} completed "
        f"(refunded {returns['refunded_minor'] / 100:.2f}), {returns['rejected']} rejected by "
        f"the policy, {returns['cancelled']} cancelled, {returns['failed']} failed, "
        f"{returns['pending']} pending"
    )
    latency = summary["latency_ms"]
    console.print(
        f"placed -> terminal latency: p50 {latency['p50']} ms, "
        f"p95 {latency['p95']} ms, p99 {latency['p99']} ms"
    )


@app.command()
def run(orders: int = typer.Option(200, "--orders", "-n", min=0)) -> None:
    """Start everything, run a demo, then serve until Ctrl-C (which stops everything)."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        up(kafka_bootstrap=None, database_url=None, infra_only=False)
        if orders:
            try:
                demo(orders=orders, as_json=False, timeout=240.0, seed=None, rate=15.0)
            except typer.Exit:
                err.print("[yellow]some demo orders did not finish in time[/]")
        _print_endpoints()
        console.print("[bold]serving; press Ctrl-C to stop everything[/]")
        while not stop.wait(1.0):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        console.print("stopping...")
        stack.down()
        console.print("stopped")


def _print_endpoints() -> None:
    from orderflow_cli.stack import services

    table = Table("service", "HTTP", "try", title="endpoints")
    examples = {
        "catalog": "/products",
        "checkout": "POST /orders",
        "orders": "/orders/{order_id}",
        "inventory": "/stock",
        "payment": "/payments/{order_id}",
        "shipping": "/shipments/{order_id}",
        "history": "/history/orders/{order_id}",
    }
    for name in services.SERVICE_PORTS:
        table.add_row(name, services.url(name), examples.get(name, "/docs"))
    console.print(table)


@app.command()
def verify(
    as_json: bool = typer.Option(False, "--json", help="machine-readable output"),
    scan_seconds: float | None = typer.Option(
        None,
        "--scan-seconds",
        min=1.0,
        help="how long the broker's topics may be read [default: 30] (a long-lived stack "
        "holds more)",
    ),
) -> None:
    """Check every invariant across the services' data; exit 1 listing the violations."""
    from orderflow_cli.verify import verify as run_verify

    url = settings_or_exit()["DATABASE_URL"]
    results, numbers = asyncio.run(run_verify(url, scan_seconds))
    ok = all(r.ok for r in results)
    if as_json:
        payload = {
            "ok": ok,
            "checks": {r.name: {"ok": r.ok, "violations": r.violations} for r in results},
            "stats": numbers,
        }
        print(json.dumps(payload, default=str))
    else:
        table = Table("invariant", "result", "violations", title="orderflow verify")
        for r in results:
            mark = "[green]ok[/]" if r.ok else f"[bold red]{len(r.violations)} violation(s)[/]"
            table.add_row(r.name, mark, "\n".join(r.violations[:10]))
        console.print(table)
        console.print(f"stats: {json.dumps(numbers, default=str)}")
    if not ok:
        raise typer.Exit(1)


@app.command("publish-sample")
def publish_sample(
    as_json: bool = typer.Option(False, "--json", help="machine-readable output"),
) -> None:
    """Publish sample SubmitOrder messages (valid and invalid) to orders.inbound and show
    the answer to each: accepted, rejected with reasons, or dead-lettered."""
    from orderflow_cli.samples import publish_samples

    samples = asyncio.run(publish_samples(settings_or_exit()["KAFKA_BOOTSTRAP_SERVERS"]))
    if as_json:
        print(json.dumps([{"label": s.label, "reference": s.reference, "answer": s.answer}
                          for s in samples]))  # fmt: skip
        return
    table = Table("sample", "reference (key)", "answer", title="orders.inbound samples")
    for s in samples:
        table.add_row(s.label, s.reference, s.answer)
    console.print(table)


docs_app = typer.Typer(help="Generated documentation: event catalogue, AsyncAPI, OpenAPI.")
app.add_typer(docs_app, name="docs")
app.add_typer(shadow_app, name="shadow")
replay_app.command("saga")(replay_saga)
projection_app.command("bought-together")(bought_together)
app.add_typer(dlq_app, name="dlq")
app.add_typer(saga_app, name="saga")
app.add_typer(replay_app, name="replay")
app.command("bench")(bench)


@docs_app.command("write")
def docs_write() -> None:
    """Regenerate docs/events.md, docs/asyncapi/*.json and docs/openapi/*.json."""
    from orderflow_cli.docs_gen import write
    from orderflow_cli.paths import repo_root

    for path in write(repo_root()):
        console.print(f"wrote {path}")


@docs_app.command("check")
def docs_check() -> None:
    """Exit 1 when a generated document differs from what the code generates."""
    from orderflow_cli.docs_gen import drift
    from orderflow_cli.paths import repo_root

    stale = drift(repo_root())
    for path in stale:
        err.print(f"[red]out of date:[/] {path} (run `make docs`)")
    if stale:
        raise typer.Exit(1)
    console.print("generated docs are up to date")


@app.command()
def audit(
    limit: int = typer.Option(50, min=1, max=10_000),
    as_json: bool = typer.Option(False, "--json", help="machine-readable output"),
) -> None:
    """List the audit trail of administrative commands (who, when, what, scope, dry run)."""
    from orderflow_cli import admin

    rows = asyncio.run(admin.entries(settings_or_exit()["DATABASE_URL"], limit))
    if as_json:
        print(json.dumps(rows, default=str))
        return
    table = Table("at", "actor", "action", "scope", "dry run", "outcome", title="audit")
    for row in rows:
        table.add_row(
            row["at"], row["actor"], row["action"], json.dumps(row["scope"]),
            "yes" if row["dry_run"] else "no", row["outcome"],
        )  # fmt: skip
    console.print(table)


@app.command("timeline")
def timeline_cmd(
    order_id: str,
    as_json: bool = typer.Option(False, "--json", help="machine-readable output"),
) -> None:
    """Every event and command of one order across all services, in order."""
    from orderflow_cli.commands.timeline import timeline

    entries = asyncio.run(timeline(settings_or_exit()["DATABASE_URL"], order_id))
    if as_json:
        print(json.dumps(entries))
        return
    if not entries:
        err.print(f"no messages about order {order_id}")
        raise typer.Exit(1)
    table = Table("sent at", "service", "topic", "message", "handled by", title=order_id)
    for e in entries:
        handled = ", ".join(f"{h['consumer']} ({h['status']})" for h in e["handled_by"])
        handled = handled or ("-" if e["published"] else "(not published yet)")
        table.add_row(e["sent_at"][11:23], e["service"], e["topic"],
                      f"{e['type']} v{e['version']}", handled)  # fmt: skip
    console.print(table)
