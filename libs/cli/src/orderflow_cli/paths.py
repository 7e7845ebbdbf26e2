"""Where the repository and the local state directory (.orderflow/) are."""

from __future__ import annotations

import os
from pathlib import Path


def repo_root() -> Path:
    """The orderflow checkout: ORDERFLOW_ROOT, else the nearest parent with deploy/kafka."""
    override = os.environ.get("ORDERFLOW_ROOT")
    if override:
        return Path(override).resolve()
    for candidate in [Path.cwd(), *Path.cwd().parents]:
        if (candidate / "deploy" / "kafka" / "pom.xml").exists():
            return candidate
    # Editable install: libs/cli/src/orderflow_cli/paths.py -> repository root.
    return Path(__file__).resolve().parents[4]


def state_dir() -> Path:
    """Local runtime state: data, logs, pid files, stack.env. Never committed."""
    path = Path(os.environ.get("ORDERFLOW_HOME", repo_root() / ".orderflow"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def logs_dir() -> Path:
    path = state_dir() / "logs"
    path.mkdir(parents=True, exist_ok=True)
    return path
