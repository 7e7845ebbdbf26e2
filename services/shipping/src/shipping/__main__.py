"""``python -m shipping``: run the shipping service until SIGTERM."""

from __future__ import annotations

import asyncio

from orderflow_service.runtime import serve
from shipping.bootstrap import build
from shipping.config import ShippingSettings


def main() -> None:
    asyncio.run(serve(build(ShippingSettings())))


if __name__ == "__main__":
    main()
