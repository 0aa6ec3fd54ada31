"""WebSocket routes. Each app adds its own consumers here as they arrive."""

from __future__ import annotations

from django.conf import settings
from django.urls import URLPattern, path

# --- The typed-message sockets: feeders, and owners' apps and pages ----------------
from apps.feeders.consumers import AppSocket, DeviceSocket

websocket_urlpatterns: list[URLPattern] = [
    path("ws/device/", DeviceSocket.as_asgi()),
    path("ws/app/", AppSocket.as_asgi()),  # reads the session itself: no middleware wrapping every frame
]

# --- Development live reload (apps.devreload): DEBUG only, decided at import ---
if settings.DEBUG:
    from apps.devreload.routing import websocket_urlpatterns as devreload_urlpatterns

    websocket_urlpatterns += devreload_urlpatterns
# --- end devreload ---
