"""ASGI entry point: HTTP through Django's WSGI handler, WebSockets through Channels."""

from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "catfeeder.settings.base")

django_wsgi_app = get_wsgi_application()  # sets Django up before consumers import models

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402

from catfeeder.http_limits import ConcurrencyLimit, RequestBody  # noqa: E402
from catfeeder.routing import websocket_urlpatterns  # noqa: E402
from catfeeder.runtime.request_deadline import RequestDeadline  # noqa: E402
from catfeeder.websocket_fallback import websocket_fallback  # noqa: E402
from catfeeder.wsgi_bridge import WsgiBridge  # noqa: E402

# /api/messages/ takes a lean path before Django: token and anonymous calls need none of its
# request machinery, which costs far more than a small message (apps/api/messages/http.py).
# isort: split
from apps.api.messages.http import MessagePath  # noqa: E402

django_http = WsgiBridge(django_wsgi_app, threads=settings.WEB_THREADS, max_body=settings.HTTP_MAX_UPLOAD_BYTES)

# Bodies are read first (in the event loop, capped and timed), so slow clients take no slot and
# their upload time does not count against the deadline. Past HTTP_MAX_CONCURRENCY requests in
# flight, answer 503 at once rather than queue; an answer not begun within RESPONSE_DEADLINE
# seconds (a dependency hangs) is a 503 instead of a wait.
http = RequestBody(
    RequestDeadline(
        ConcurrencyLimit(MessagePath(django_http), limit=settings.HTTP_MAX_CONCURRENCY),  # type: ignore[arg-type]
        seconds=settings.RESPONSE_DEADLINE,
    ),
    timeout=settings.HTTP_BODY_TIMEOUT,
    max_bytes=settings.DATA_UPLOAD_MAX_MEMORY_SIZE,
    max_upload_bytes=settings.HTTP_MAX_UPLOAD_BYTES,
    max_buffered=settings.HTTP_BODY_BUFFER_BYTES,
)

# The HTTP limits wrap HTTP only: a socket's application call lasts as long as the socket, and
# every layer it passes through stays suspended with it (a coroutine frame each, per socket).
application = ProtocolTypeRouter(
    {
        "http": http,
        # Each route brings its own authentication and Origin policy: devices
        # send no Origin header, browsers must send an allowed one. The
        # fallback (last) answers unknown paths with 404.
        "websocket": URLRouter([*websocket_urlpatterns, websocket_fallback]),
    }
)
