"""The garbage collector of a service process, set for a long-running message loop.

Measured at 200 orders/s (docs/performance.md): with CPython's defaults the coordinator
spent ~45 ms of CPU a second in collections, the read model ~60, and each full
collection stopped the event loop for 100-200 ms, because it walked the ~1M objects
made at startup (modules, pydantic schemas, SQLAlchemy metadata) every few seconds.
So, once started, a service freezes what startup made (``gc.freeze``: never walked
again), and collects the young generation after 50,000 net allocations instead of 700
(a batch's objects are freed by reference counting long before that; what reaches the
collector is the rare cycle). ``ORDERFLOW_GC_FREEZE=0`` and ``ORDERFLOW_GC_GEN0=700``
give the defaults back.
"""

from __future__ import annotations

import gc

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class GcSettings(BaseSettings):
    """``ORDERFLOW_GC_FREEZE``, ``ORDERFLOW_GC_GEN0``, ``_GEN1``, ``_GEN2`` (thresholds as
    in ``gc.set_threshold``; GEN0=0 turns automatic collection off)."""

    model_config = SettingsConfigDict(env_prefix="ORDERFLOW_GC_", extra="ignore")

    freeze: bool = True
    gen0: int = Field(default=50_000, ge=0)
    gen1: int = Field(default=20, ge=1)
    gen2: int = Field(default=10, ge=1)


def tune_gc(settings: GcSettings) -> None:
    """Call once the service has started (everything made so far lives as long as it)."""
    if settings.freeze:
        gc.collect()  # startup's own garbage goes first, rather than frozen with the rest
        gc.freeze()
    gc.set_threshold(settings.gen0, settings.gen1, settings.gen2)
