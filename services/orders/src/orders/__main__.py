"""``python -m orders``: run the orders service until SIGTERM."""

from __future__ import annotations

import asyncio

from orderflow_service.runtime import serve
from orders.bootstrap import build
from orders.config import OrdersSettings


def main() -> None:
    asyncio.run(serve(build(OrdersSettings())))


if __name__ == "__main__":
    main()
