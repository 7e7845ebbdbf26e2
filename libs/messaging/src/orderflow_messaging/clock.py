"""Time and identity are injected so that tests can freeze them."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from uuid import UUID, uuid4

Clock = Callable[[], datetime]
IdFactory = Callable[[], UUID]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class FixedClock:
    """A clock for tests: returns ``now`` until moved."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now


@dataclass
class SequentialIds:
    """Predictable UUIDs for tests: 00000000-0000-0000-0000-000000000001, ..."""

    _counter: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def __call__(self) -> UUID:
        return UUID(int=next(self._counter))


__all__ = ["Clock", "FixedClock", "IdFactory", "SequentialIds", "utc_now", "uuid4"]
