"""The collector settings a service applies once started."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from orderflow_service.gc_tuning import GcSettings, tune_gc


@pytest.fixture
def restore_gc() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


@pytest.mark.usefixtures("restore_gc")
def test_defaults_freeze_startup_and_raise_the_young_threshold(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("FREEZE", "GEN0", "GEN1", "GEN2"):
        monkeypatch.delenv(f"ORDERFLOW_GC_{name}", raising=False)
    made_at_startup = [[n] for n in range(1000)]  # containers, so the collector tracks them
    tune_gc(GcSettings())
    assert gc.get_threshold() == (50_000, 20, 10)
    assert gc.get_freeze_count() >= len(made_at_startup)


@pytest.mark.usefixtures("restore_gc")
def test_the_environment_gives_the_defaults_back(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORDERFLOW_GC_FREEZE", "0")
    monkeypatch.setenv("ORDERFLOW_GC_GEN0", "700")
    monkeypatch.setenv("ORDERFLOW_GC_GEN1", "10")
    gc.unfreeze()
    tune_gc(GcSettings())
    assert gc.get_threshold() == (700, 10, 10)
    assert gc.get_freeze_count() == 0
