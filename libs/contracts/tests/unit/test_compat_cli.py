"""``python -m orderflow_contracts.compat --against REF``: old schemas come from git.

Each test builds a throwaway git repository under tmp_path (never the project's own) and
commits hand-edited "old" schema files to it; the current models are the new side.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from orderflow_contracts import compat_cli
from orderflow_contracts.generated import render
from orderflow_contracts.schema_export import schemas

ORDER_PLACED = "schemas/checkout/OrderPlaced.v1.json"


def git(root: Path, *args: str) -> None:
    identity = ("-c", "user.name=test", "-c", "user.email=test@example.com")
    subprocess.run(
        ["git", "-C", str(root), *identity, "-c", "commit.gpgsign=false", *args],
        check=True,
        capture_output=True,
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    git(tmp_path, "init", "-q")
    return tmp_path


def commit(root: Path, files: dict[str, dict[str, Any]]) -> None:
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(render(data), encoding="utf-8")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "schemas")
    git(root, "tag", "base")


def current() -> dict[str, dict[str, Any]]:
    return schemas()


def run(root: Path, ref: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = compat_cli.cli(["--against", ref, "--root", str(root)])
    return code, capsys.readouterr().out


def test_unchanged_contracts_pass(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    commit(repo, current())
    code, out = run(repo, "base", capsys)
    assert code == 0, out
    assert f"{len(current())} schema files at git ref base are compatible" in out


def test_breaking_changes_are_listed_per_file_and_field(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = current()
    placed = json.loads(json.dumps(old[ORDER_PLACED]))
    # As if the old code had a gift note and string quantities that today's code dropped.
    placed["properties"]["gift_note"] = {"type": "string"}
    placed["$defs"]["PricedLine"]["properties"]["quantity"] = {"type": "string"}
    old[ORDER_PLACED] = placed
    commit(repo, old)

    code, out = run(repo, "base", capsys)

    assert code == 1
    assert out.splitlines() == [
        f"{ORDER_PLACED}: field 'gift_note' removed",
        f"{ORDER_PLACED}: field 'lines[].quantity' type changed string -> integer",
    ]


def test_removed_schema_file_is_breaking(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old = current()
    old["schemas/payment/PaymentSettled.v1.json"] = {
        "type": "object",
        "x-orderflow-type": "PaymentSettled",
        "x-orderflow-version": 1,
    }
    commit(repo, old)
    code, out = run(repo, "base", capsys)
    assert code == 1
    assert out.splitlines() == [
        "schemas/payment/PaymentSettled.v1.json: schema file removed "
        "(PaymentSettled v1 is no longer generated)"
    ]


def test_compares_the_git_version_not_the_working_tree(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = current()
    old[ORDER_PLACED] = {**old[ORDER_PLACED], "additionalProperties": True}
    old[ORDER_PLACED]["properties"] = {**old[ORDER_PLACED]["properties"], "coupon": {}}
    commit(repo, old)
    # Regenerated files in the working tree must not hide the change from the base.
    (repo / ORDER_PLACED).write_text(render(current()[ORDER_PLACED]), encoding="utf-8")
    code, out = run(repo, "base", capsys)
    assert code == 1
    assert f"{ORDER_PLACED}: field 'coupon' removed" in out


def test_examples_at_the_ref_are_not_schemas(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    commit(repo, {**current(), "schemas/examples/checkout/OrderPlaced.v1.json": {"x": 1}})
    code, out = run(repo, "base", capsys)
    assert code == 0, out


def test_missing_ref_falls_back_to_head(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old = current()
    old[ORDER_PLACED] = {**old[ORDER_PLACED], "required": [*old[ORDER_PLACED]["required"]]}
    old[ORDER_PLACED]["properties"] = {**old[ORDER_PLACED]["properties"], "coupon": {}}
    commit(repo, old)
    code, out = run(repo, "origin/main", capsys)
    assert code == 1
    assert "git ref 'origin/main' not found; comparing against git ref HEAD" in out
    assert f"{ORDER_PLACED}: field 'coupon' removed" in out


def test_no_commits_falls_back_to_the_working_tree(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / "schemas/checkout").mkdir(parents=True)
    placed = current()[ORDER_PLACED]
    placed = {**placed, "properties": {**placed["properties"], "coupon": {}}}
    (repo / ORDER_PLACED).write_text(render(placed), encoding="utf-8")
    code, out = run(repo, "origin/main", capsys)
    assert code == 1
    assert "comparing against the working tree" in out
    assert f"{ORDER_PLACED}: field 'coupon' removed" in out


def test_history_mode_compares_with_the_first_published_version(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = current()
    first[ORDER_PLACED] = {
        **first[ORDER_PLACED],
        "properties": {**first[ORDER_PLACED]["properties"], "coupon": {"type": "string"}},
    }
    commit(repo, first)  # first published with a field the code no longer has...
    git(repo, "tag", "-d", "base")
    commit(repo, current())  # ...and since "fixed" by regenerating the file
    code = compat_cli.cli(["--history", "--root", str(repo)])
    out = capsys.readouterr().out
    assert code == 1
    assert f"{ORDER_PLACED} (first published): field 'coupon' removed" in out
    assert f"{ORDER_PLACED}: " not in out.replace(f"{ORDER_PLACED} (first", "")
