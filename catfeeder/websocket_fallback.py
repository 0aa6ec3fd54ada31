"""The last WebSocket route (asgi.py puts it after every other): unknown paths get 404.

Without it Channels' URLRouter raises "No route found", which uvicorn turns
into a 500 with a traceback in the log for every probe of a wrong path.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from django.urls import re_path

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


async def websocket_not_found(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    """Refuse the handshake with 404. Servers with the ASGI "websocket.http.response"
    extension (uvicorn) send it; others (Daphne) turn a close before accept into 403."""
    await receive()  # websocket.connect
    if "websocket.http.response" in scope.get("extensions", {}):
        headers = [(b"content-type", b"text/plain; charset=utf-8")]
        await send({"type": "websocket.http.response.start", "status": 404, "headers": headers})
        await send({"type": "websocket.http.response.body", "body": b"Not Found"})
    else:
        await send({"type": "websocket.close"})


# django-stubs types routes for views; Channels routes take ASGI apps.
websocket_fallback = re_path(r"", websocket_not_found)  # type: ignore[arg-type]
