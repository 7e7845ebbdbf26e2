"""Is the current code's contract backward compatible with the schemas at a git ref?

    python -m orderflow_contracts.compat --against REF [--root DIR]

Every ``schemas/<owner>/*.json`` present at REF is compared with the schema the current
models generate (not with the working-tree file, which may simply not be regenerated
yet). A schema file that existed at REF and is no longer generated is breaking too: a
published version must stay readable. When REF does not exist (a shallow clone, a fresh
repository), the comparison falls back to HEAD, then to the working tree, and says so.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import Any

from orderflow_contracts.compat import breaking_changes
from orderflow_contracts.schema_export import (
    EXAMPLES_DIR,
    SCHEMA_DIR,
    TYPE_KEY,
    VERSION_KEY,
    schema_files_on_disk,
    schemas,
)

PROG = "python -m orderflow_contracts.compat"


def _git(root: Path, *args: str) -> str | None:
    """stdout of a read-only git command, or None when git or the object is missing."""
    try:
        done = subprocess.run(
            ["git", "-C", str(root), *args], capture_output=True, text=True, check=False
        )
    except FileNotFoundError:
        return None
    return done.stdout if done.returncode == 0 else None


def ref_exists(root: Path, ref: str) -> bool:
    return _git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}") is not None


def _is_schema_file(path: str) -> bool:
    parts = PurePosixPath(path).parts
    return (
        len(parts) == 3
        and parts[0] == SCHEMA_DIR
        and parts[1] != PurePosixPath(EXAMPLES_DIR).name
        and parts[2].endswith(".json")
    )


def schemas_at(root: Path, ref: str) -> dict[str, str]:
    """Path -> text of every schema file at ``ref`` (paths relative to ``root``)."""
    listing = _git(root, "ls-tree", "-r", "--name-only", ref, "--", SCHEMA_DIR) or ""
    found: dict[str, str] = {}
    for path in filter(_is_schema_file, listing.splitlines()):
        text = _git(root, "show", f"{ref}:./{path}")
        if text is None:
            raise RuntimeError(f"git show {ref}:{path} failed")
        found[path] = text
    return found


def schemas_in_tree(root: Path) -> dict[str, str]:
    return {path: (root / path).read_text(encoding="utf-8") for path in schema_files_on_disk(root)}


def baseline(root: Path, ref: str) -> tuple[dict[str, str], str]:
    """The old schema files and a description of where they came from."""
    for candidate in (ref, "HEAD"):
        if ref_exists(root, candidate):
            return schemas_at(root, candidate), f"git ref {candidate}"
    return schemas_in_tree(root), "the working tree"


def first_published(root: Path) -> dict[str, str]:
    """Each schema file as the commit that first added it had it: every later change of
    a published version must stay compatible with what consumers first relied on. Needs
    no base branch, so it also works in a fresh clone of main."""
    found: dict[str, str] = {}
    listing = _git(root, "ls-tree", "-r", "--name-only", "HEAD", "--", SCHEMA_DIR) or ""
    for path in filter(_is_schema_file, listing.splitlines()):
        added = _git(root, "log", "--diff-filter=A", "--format=%H", "--reverse", "--", path)
        first = (added or "").split()
        text = _git(root, "show", f"{first[0]}:./{path}") if first else None
        if text is not None:
            found[path] = text
    return found


def problems(old_files: dict[str, str], current: dict[str, dict[str, Any]]) -> list[str]:
    found: list[str] = []
    for path, text in sorted(old_files.items()):
        try:
            old = json.loads(text)
        except json.JSONDecodeError as exc:
            found.append(f"{path}: old schema is not valid JSON ({exc})")
            continue
        new = current.get(path)
        if new is None:
            name = f"{old.get(TYPE_KEY, '?')} v{old.get(VERSION_KEY, '?')}"
            found.append(f"{path}: schema file removed ({name} is no longer generated)")
            continue
        found.extend(f"{path}: {change}" for change in breaking_changes(old, new))
    return found


def cli(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--against", help="git ref holding the old schemas")
    target.add_argument(
        "--history",
        action="store_true",
        help="compare with each schema file's first committed version (and with HEAD)",
    )
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="repository root")
    args = parser.parse_args(argv)
    if args.history:
        head, source = baseline(args.root, "HEAD")
        first = first_published(args.root)
        old_files = {**head, **{f"{p} (first published)": t for p, t in first.items()}}
        current = schemas()
        current |= {f"{p} (first published)": v for p, v in current.items()}
        source = "HEAD and each file's first commit"
        found = problems(old_files, current)
    else:
        old_files, source = baseline(args.root, args.against)
        if source != f"git ref {args.against}":
            print(f"{PROG}: git ref {args.against!r} not found; comparing against {source}")
        found = problems(old_files, schemas())
    if found:
        print("\n".join(found))
        print(f"{PROG}: {len(found)} breaking change(s) against {source}", file=sys.stderr)
        return 1
    print(f"{PROG}: {len(old_files)} schema files at {source} are compatible with the models")
    return 0


if __name__ == "__main__":
    raise SystemExit(cli())
