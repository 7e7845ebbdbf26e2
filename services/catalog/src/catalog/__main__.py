"""``python -m catalog``: run the catalog service until SIGTERM."""

from __future__ import annotations

import asyncio

from catalog.bootstrap import build
from catalog.config import CatalogSettings
from orderflow_service.runtime import serve


def main() -> None:
    asyncio.run(serve(build(CatalogSettings())))


if __name__ == "__main__":
    main()
