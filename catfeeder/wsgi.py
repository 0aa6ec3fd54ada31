"""WSGI entry point (HTTP only; the product is served over ASGI, see asgi.py)."""

from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "catfeeder.settings.base")

application = get_wsgi_application()
