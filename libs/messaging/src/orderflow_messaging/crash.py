"""Named crash points for fault tests.

``ORDERFLOW_CRASH_POINTS=relay.after_publish,consumer.after_commit`` makes the process
exit abruptly (no cleanup, like kill -9) the first time it reaches one of those points.
Unset in production: the check is one dictionary lookup.
"""

from __future__ import annotations

import os
import sys

CRASH_EXIT_CODE = 86
_ENV = "ORDERFLOW_CRASH_POINTS"


def _armed() -> frozenset[str]:
    return frozenset(p.strip() for p in os.environ.get(_ENV, "").split(",") if p.strip())


def crashpoint(name: str) -> None:
    if name in _armed():
        sys.stderr.write(f"orderflow: crash point {name} reached, exiting\n")
        sys.stderr.flush()
        os._exit(CRASH_EXIT_CODE)


_DELAYS_ENV = "ORDERFLOW_FAULT_DELAYS"


def fault_delay_s(name: str) -> float:
    """Seconds to stall at a named point (``ORDERFLOW_FAULT_DELAYS=consumer.handle=20``):
    lets a fault test make a handler slower than the shutdown grace. 0 when unset."""
    for pair in os.environ.get(_DELAYS_ENV, "").split(","):
        point, _, seconds = pair.partition("=")
        if point.strip() == name:
            return float(seconds or 0)
    return 0.0
