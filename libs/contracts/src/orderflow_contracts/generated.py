"""Checked-in files generated from code: render, write, and compare with what is on disk.

Shared by ``schema_export`` and ``examples``: both own a set of JSON files under
``schemas/`` that must equal what the code generates, byte for byte, so that a review
diff shows every contract change and CI can refuse a model edit without its files.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

# What each generator returns: repository-relative POSIX path -> file text.
Files = Mapping[str, str]


def render(data: Any) -> str:
    """Deterministic JSON: sorted keys and a trailing newline keep diffs minimal and stable."""
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def differences(root: Path, expected: Files, on_disk: Iterable[str]) -> list[str]:
    """One line per file that is missing, differs, or has no generator any more."""
    problems: list[str] = []
    for rel, text in sorted(expected.items()):
        path = root / rel
        if not path.is_file():
            problems.append(f"{rel}: missing")
        elif path.read_text(encoding="utf-8") != text:
            problems.append(f"{rel}: differs from the models")
    problems.extend(
        f"{rel}: extra (nothing generates it; `write --prune` deletes it)"
        for rel in sorted(set(on_disk) - set(expected))
    )
    return problems


def write(root: Path, expected: Files, on_disk: Iterable[str], *, prune: bool) -> list[str]:
    """Write what changed; delete stale files only when asked, since removing a published
    version is a decision (and a breaking change) rather than housekeeping."""
    report: list[str] = []
    for rel, text in sorted(expected.items()):
        path = root / rel
        if path.is_file() and path.read_text(encoding="utf-8") == text:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        report.append(f"wrote {rel}")
    for rel in sorted(set(on_disk) - set(expected)):
        if prune:
            (root / rel).unlink()
            report.append(f"deleted {rel}")
        else:
            report.append(f"kept stale {rel} (use --prune to delete it)")
    return report


def json_files(root: Path, directory: str, *, exclude: str | None = None) -> list[str]:
    """Repository-relative paths of ``<directory>/<any>/<name>.json`` under ``root``."""
    base = root / directory
    if not base.is_dir():
        return []
    return sorted(
        path.relative_to(root).as_posix()
        for path in base.glob("*/*.json")
        if path.is_file() and path.parent.name != exclude
    )


def main(
    prog: str,
    argv: Sequence[str] | None,
    expected: Callable[[], Files],
    on_disk: Callable[[Path], list[str]],
) -> int:
    """The ``write`` / ``check`` command line both generators share."""
    parser = argparse.ArgumentParser(prog=prog)
    commands = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (
        ("write", "write the generated files"),
        ("check", "exit 1 if the checked-in files differ from the code"),
    ):
        sub = commands.add_parser(name, help=help_text)
        sub.add_argument("--root", type=Path, default=Path.cwd(), help="repository root")
        if name == "write":
            sub.add_argument("--prune", action="store_true", help="delete stale files")
    args = parser.parse_args(argv)
    root: Path = args.root
    files = expected()
    if args.command == "write":
        lines = write(root, files, on_disk(root), prune=args.prune)
        print("\n".join(lines) if lines else f"{prog}: {len(files)} files up to date")
        return 0
    problems = differences(root, files, on_disk(root))
    if problems:
        print("\n".join(problems))
        print(f"{prog}: out of date; run `{prog} write`", file=sys.stderr)
        return 1
    print(f"{prog}: {len(files)} files match the code")
    return 0
