"""WebSocket routes. Each app adds its own consumers here as they arrive."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from django.conf import settings
from django.urls import URLPattern, re_path

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

websocket_urlpatterns: list[URLPattern] = []

# --- Development live reload (apps.devreload): DEBUG only, decided at import ---
if settings.DEBUG:
    from apps.devreload.routing import websocket_urlpatterns as devreload_urlpatterns

    websocket_urlpatterns += devreload_urlpatterns
# --- end devreload ---


# --- Unknown paths (asgi.py puts this after every route) ------------------------
async def websocket_not_found(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    """Refuse a handshake on an unknown path with 404 rather than a 500 and a traceback.

    Servers with the ASGI "websocket.http.response" extension (uvicorn) send
    the 404; others (Daphne) answer a close before accept with 403.
    """
    await receive()  # websocket.connect
    if "websocket.http.response" in scope.get("extensions", {}):
        headers = [(b"content-type", b"text/plain; charset=utf-8")]
        await send({"type": "websocket.http.response.start", "status": 404, "headers": headers})
        await send({"type": "websocket.http.response.body", "body": b"Not Found"})
    else:
        await send({"type": "websocket.close"})


# django-stubs types routes for views; Channels routes take ASGI apps.
websocket_fallback = re_path(r"", websocket_not_found)  # type: ignore[arg-type]
# --- end unknown paths ---
