"""``python -m checkout``: run the checkout service until SIGTERM."""

from __future__ import annotations

import asyncio

from checkout.bootstrap import build
from checkout.config import CheckoutSettings
from orderflow_service.runtime import serve


def main() -> None:
    asyncio.run(serve(build(CheckoutSettings())))


if __name__ == "__main__":
    main()
