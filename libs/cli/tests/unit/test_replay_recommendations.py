"""`replay projection bought-together --compare`: every pair whose counts differ is listed,
and the pairs of SKUs ordered after the rebuild's end are left out, and counted."""

from __future__ import annotations

from collections import Counter

from orderflow_cli.commands.replay_recommendations import _differences


def test_differing_and_missing_pairs_are_listed_and_later_skus_left_out() -> None:
    live = Counter({("TEE", "MUG"): 3, ("MUG", "TEE"): 3, ("CAP", "HAT"): 1, ("NEW", "TEE"): 9})
    rebuilt = Counter({("TEE", "MUG"): 2, ("MUG", "TEE"): 3, ("HAT", "CAP"): 1})
    found = _differences(live, rebuilt, changed={"NEW"})
    assert found["differing"] == {
        "CAP -> HAT": {"live": 1, "rebuilt": 0},
        "HAT -> CAP": {"live": 0, "rebuilt": 1},
        "TEE -> MUG": {"live": 3, "rebuilt": 2},
    }
    assert (found["compared"], found["skipped_changed_since"], found["differences"]) == (4, 1, 3)
    assert _differences(live, live, set())["differences"] == 0
