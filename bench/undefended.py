"""The product's HTTP path with no defence against slow clients, for bench/slow_clients.py.

What the web process served before bodies were read in the event loop: Django
through a2wsgi's WSGI bridge (WEB_THREADS threads, a body read by the thread
that handles it) and the lean message path, under plain uvicorn (no head
limits, no body deadline).
"""

from __future__ import annotations

from django.core.wsgi import get_wsgi_application

django_wsgi_app = get_wsgi_application()

from a2wsgi import WSGIMiddleware  # noqa: E402
from django.conf import settings  # noqa: E402

from apps.api.messages.http import MessagePath  # noqa: E402

application = MessagePath(WSGIMiddleware(django_wsgi_app, workers=settings.WEB_THREADS))  # type: ignore[arg-type]
