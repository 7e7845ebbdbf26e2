"""Run `promtool test rules` on deploy/prometheus/alerts.yml with series taken from a
real /metrics scrape (the alert-rule tests of issue #13)."""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[4]
RULES = ROOT / "deploy" / "prometheus" / "alerts.yml"
PROMTOOL = ROOT / ".tools" / "bin" / "promtool"  # built by `make tools`


def series_name(name: str, labels: Mapping[str, str]) -> str:
    """``name{k="v", ...}`` in promtool's input-series notation."""
    inner = ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    return f"{name}{{{inner}}}"


async def rule_test(
    tmp_path: Path, input_series: Sequence[dict[str, str]], alerts: Sequence[dict[str, Any]]
) -> None:
    """Feed ``input_series`` (one sample a minute) to the rules and check ``alerts``
    (promtool's alert_rule_test entries); fails the test with promtool's output."""
    assert PROMTOOL.exists(), f"{PROMTOOL} is missing: run `make tools`"
    test = {
        "rule_files": [str(RULES)],
        "evaluation_interval": "1m",
        "tests": [
            {"interval": "1m", "input_series": list(input_series), "alert_rule_test": list(alerts)}
        ],
    }
    path = tmp_path / "rules_test.yml"
    path.write_text(json.dumps(test, indent=1))  # JSON is YAML too
    checked = await asyncio.to_thread(
        subprocess.run,
        [str(PROMTOOL), "test", "rules", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS" in checked.stdout, checked.stdout
