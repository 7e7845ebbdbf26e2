"""``python -m history``: run the history service until SIGTERM."""

from __future__ import annotations

import asyncio

from history.bootstrap import build
from history.config import HistorySettings
from orderflow_service.runtime import serve


def main() -> None:
    asyncio.run(serve(build(HistorySettings())))


if __name__ == "__main__":
    main()
