"""``python -m payment``: run the payment service until SIGTERM."""

from __future__ import annotations

import asyncio

from orderflow_service.runtime import serve
from payment.bootstrap import build
from payment.config import PaymentSettings


def main() -> None:
    asyncio.run(serve(build(PaymentSettings())))


if __name__ == "__main__":
    main()
