"""The product's ASGI app, with stock Django's ASGI handler mounted for reference views."""

from __future__ import annotations

from typing import Any

from django.core.asgi import get_asgi_application

from catfeeder.asgi import application as product

stock_django = get_asgi_application()
STOCK_PREFIX = "/bench/stock/"


async def application(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "http" and scope["path"].startswith(STOCK_PREFIX):
        await stock_django(scope, receive, send)
    else:
        await product(scope, receive, send)
