"""The live-reload socket. catfeeder/routing.py mounts it only when DEBUG is on."""

from __future__ import annotations

from channels.security.websocket import AllowedHostsOriginValidator
from django.urls import URLPattern, path

from apps.devreload.consumers import DevReloadConsumer

WS_PATH = "ws/devreload/"

websocket_urlpatterns: list[URLPattern] = [
    # Only this site's own pages may listen: the socket shows listener output.
    path(WS_PATH, AllowedHostsOriginValidator(DevReloadConsumer.as_asgi())),
]
