"""``python -m inventory``: run the inventory service until SIGTERM."""

from __future__ import annotations

import asyncio

from inventory.bootstrap import build
from inventory.config import InventorySettings
from orderflow_service.runtime import serve


def main() -> None:
    asyncio.run(serve(build(InventorySettings())))


if __name__ == "__main__":
    main()
