"""ASGI entry point: HTTP through Django, WebSockets through Channels."""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "catfeeder.settings.base")

# Set Django up before anything imports models (consumers do).
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from catfeeder.routing import websocket_urlpatterns  # noqa: E402
from catfeeder.websocket_fallback import websocket_fallback  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        # Each route brings its own authentication and Origin policy: devices
        # send no Origin header, browsers must send an allowed one.
        "websocket": URLRouter([*websocket_urlpatterns, websocket_fallback]),
    }
)
