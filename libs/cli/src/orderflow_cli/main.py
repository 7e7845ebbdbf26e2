"""``orderflow``: the command line of the local stack and of operations."""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.table import Table

from orderflow_cli import stack

app = typer.Typer(
    no_args_is_help=True, add_completion=False, help=__doc__, pretty_exceptions_enable=False
)
console = Console()
err = Console(stderr=True)

_STATE_STYLE = {"up": "green", "external": "cyan", "down": "dim", "crashed": "bold red"}


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
) -> None:
    """Start Kafka and PostgreSQL in the background (a no-op for what already runs)."""
    try:
        with console.status("starting the local stack (Kafka, PostgreSQL)..."):
            stack.up(kafka_bootstrap=kafka_bootstrap, database_url=database_url)
    except stack.StackError as exc:
        err.print(f"[bold red]orderflow up failed:[/] {exc}")
        raise typer.Exit(1) from exc
    _print_status(stack.status())
    console.print(f"settings: {stack.stack_env_path()}")


@app.command()
def down() -> None:
    """Stop everything `up` started; no process is left behind."""
    stack.down()
    _print_status(stack.status())


@app.command()
def status(
    as_json: bool = typer.Option(False, "--json", help="machine-readable output"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no output; exit 0 only if all up"),
) -> None:
    """Show each component's state; exit 1 unless everything is up."""
    rows = stack.status()
    if as_json:
        console.print_json(json.dumps({"components": stack.as_dicts(rows)}))
    elif not quiet:
        _print_status(rows)
    if not stack.healthy(rows):
        raise typer.Exit(1)


def _print_status(rows: list[stack.ComponentStatus]) -> None:
    table = Table("component", "state", "address")
    for row in rows:
        style = _STATE_STYLE.get(row.state, "yellow")
        table.add_row(row.name, f"[{style}]{row.state}[/]", row.address)
    console.print(table)
