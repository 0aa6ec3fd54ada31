"""WebSocket routes. Each app adds its own consumers here as they arrive."""

from __future__ import annotations

from channels.auth import AuthMiddlewareStack
from django.urls import URLPattern, path

# --- issue 5: the message sockets -------------------------------------------------
from apps.feeders.consumers import AppSocket, DeviceSocket

websocket_urlpatterns: list[URLPattern] = [
    path("ws/device/", DeviceSocket.as_asgi()),
    path("ws/app/", AuthMiddlewareStack(AppSocket.as_asgi())),  # session cookie -> scope["user"]
]
# --- end issue 5 -------------------------------------------------------------------
