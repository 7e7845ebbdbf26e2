"""Chaos tests: a private orderflow cluster (its own state dir and ports) that the tests
kill, freeze and restart. It never touches the developer's or the main session's stack.

The tests run only when selected with a marker expression that names them
(``-m chaos`` or ``-m chaos_fast``): a plain ``pytest tests`` (or ``make test-unit``)
deselects them, since each needs minutes and a cluster of its own.

One cluster serves the whole session while tests pass; after a failing (or xfailed)
test, or when it does not settle before a test, it is torn down and a fresh one started,
so one scenario's damage never fails the next.
"""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator
from typing import Any

import pytest

from orderflow_testing.chaos import SERVICES, Cluster, ClusterError, violations
from orderflow_testing.chaos_load import wait_for_catalog


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if "chaos" in (config.option.markexpr or ""):
        return
    chosen, dropped = [], []
    for item in items:
        (dropped if item.get_closest_marker("chaos") else chosen).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = chosen


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: Any) -> Generator[None, Any, Any]:
    report = yield
    if report.when == "call":
        item.stash[_FAILED] = report.failed or hasattr(report, "wasxfail")
    return report


_FAILED = pytest.StashKey[bool]()


class ClusterPool:
    def __init__(self) -> None:
        self.current: Cluster | None = None
        self.dirty = False
        self.kept: list[str] = []

    def fresh(self) -> Cluster:
        self.drop()
        cluster = Cluster()
        try:
            cluster.start()
            wait_for_catalog(cluster.url("checkout"))
        except BaseException:
            cluster.stop()
            self.kept.append(str(cluster.home))
            raise
        self.current, self.dirty = cluster, False
        return cluster

    def drop(self) -> None:
        if self.current is None:
            return
        cluster, self.current = self.current, None
        cluster.stop()
        if self.dirty or os.environ.get("ORDERFLOW_CHAOS_KEEP"):
            self.kept.append(str(cluster.home))  # logs and data, for the post-mortem
        else:
            cluster.cleanup()

    def get(self) -> Cluster:
        if self.current is None or self.dirty:
            return self.fresh()
        cluster = self.current
        try:
            if not all(cluster.alive(s) for s in SERVICES):
                cluster.up()
            if cluster.settle(timeout=90).get("ok"):
                return cluster
        except ClusterError:
            pass
        self.dirty = True
        return self.fresh()


@pytest.fixture(scope="session")
def chaos_pool() -> Iterator[ClusterPool]:
    pool = ClusterPool()
    try:
        yield pool
    finally:
        pool.drop()
        if pool.kept:
            print(f"\nchaos cluster state kept for inspection: {', '.join(pool.kept)}")


@pytest.fixture
def cluster(chaos_pool: ClusterPool, request: pytest.FixtureRequest) -> Iterator[Cluster]:
    current = chaos_pool.get()
    try:
        yield current
    finally:
        if request.node.stash.get(_FAILED, True):
            chaos_pool.dirty = True
        else:
            try:  # a scenario restarts what it broke; make sure of it
                current.stop_extra_instances()
                for service in SERVICES:
                    current.cont(service)
                if not all(current.alive(s) for s in SERVICES):
                    current.up()
            except ClusterError:
                chaos_pool.dirty = True


def assert_verified(report: dict[str, Any]) -> None:
    assert report.get("ok"), f"orderflow verify failed: {violations(report)}"
