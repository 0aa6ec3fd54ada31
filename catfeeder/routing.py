"""WebSocket routes. Each app adds its own consumers here as they arrive."""

from __future__ import annotations

from django.urls import URLPattern

websocket_urlpatterns: list[URLPattern] = []
