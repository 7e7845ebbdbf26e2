"""The coordinator's cache of live sagas: what a committed batch leaves, bounded."""

from __future__ import annotations

from orders.adapters.saga_cache import SagaCache
from orders.saga.state import Saga, SagaStatus

from .saga_builders import ORDER, T0


def saga(order_id: str, status: SagaStatus = SagaStatus.RUNNING, version: int = 1) -> Saga:
    return Saga(order_id, ORDER, status, None, 1, T0, version=version)


def test_sagas_are_kept_at_their_newest_version_finished_ones_too() -> None:
    cache = SagaCache(10)
    cache.keep([saga("a"), saga("b")])
    cache.keep([saga("a", version=2), saga("b", SagaStatus.COMPLETED, version=2)])
    assert cache.get("a") == saga("a", version=2)
    assert cache.get("b") == saga("b", SagaStatus.COMPLETED, version=2)  # deliveries come
    assert len(cache) == 2


def test_the_least_recently_kept_go_first_past_the_size() -> None:
    cache = SagaCache(2)
    cache.keep([saga("a"), saga("b")])
    cache.keep([saga("a", version=2)])  # a is the newest now
    cache.keep([saga("c")])
    assert [o for o in "abc" if cache.get(o)] == ["a", "c"]


def test_forgotten_sagas_are_gone() -> None:
    cache = SagaCache(10)
    cache.keep([saga("a"), saga("b")])
    cache.forget(["a", "zz"])
    assert cache.get("a") is None
    assert cache.get("b") == saga("b")
