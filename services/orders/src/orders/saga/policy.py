"""Deadlines and retry budgets of the saga (configuration, passed into transitions)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class SagaPolicy:
    step_timeout: timedelta = timedelta(seconds=5)
    # Resends of a step's command after a timeout before giving up on it.
    step_retries: int = 2
    compensation_retries: int = 5

    def retries_for(self, compensating: bool) -> int:
        return self.compensation_retries if compensating else self.step_retries
