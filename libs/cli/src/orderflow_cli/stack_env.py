"""The running stack's settings for a command, or a clear exit when there is none."""

from __future__ import annotations

import typer
from rich.console import Console

from orderflow_cli import stack

_err = Console(stderr=True)


def settings_or_exit() -> dict[str, str]:
    settings = stack.read_env()
    if not settings:
        _err.print("[bold red]the stack is not up:[/] run `orderflow up` first")
        raise typer.Exit(1)
    return settings
