"""The project's application plus two test routes, served by the real runner in drain tests.

`/slow` answers after SLOW seconds (a request in flight during a drain);
`/ws/echo/` is a Channels consumer that echoes (an open socket).
"""
# ruff: noqa: I001 - Django must be set up (by catfeeder.asgi) before Channels' consumers load

from __future__ import annotations

import asyncio
from typing import Any

from catfeeder.asgi import application as project  # sets Django up first

from channels.generic.websocket import AsyncWebsocketConsumer  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import path  # noqa: E402

SLOW = 3.0  # seconds


class Echo(AsyncWebsocketConsumer):
    # No channel layer: with redis-py 8 an idle channels_redis receive fails after 5 s,
    # and these sockets only need to stay open and echo.
    channel_layer_alias = "none"

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        await self.send(text_data=text_data)


async def http(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["path"] != "/slow":
        await project(scope, receive, send)
        return
    await asyncio.sleep(SLOW)
    headers = [(b"content-type", b"text/plain"), (b"content-length", b"4")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b"done"})


application = ProtocolTypeRouter({"http": http, "websocket": URLRouter([path("ws/echo/", Echo.as_asgi())])})
