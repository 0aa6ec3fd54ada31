"""WebSocket routes. Each app adds its own consumers here as they arrive."""

from __future__ import annotations

from django.conf import settings
from django.urls import URLPattern

websocket_urlpatterns: list[URLPattern] = []

# --- Development live reload (apps.devreload): DEBUG only, decided at import ---
if settings.DEBUG:
    from apps.devreload.routing import websocket_urlpatterns as devreload_urlpatterns

    websocket_urlpatterns += devreload_urlpatterns
# --- end devreload ---
