"""WSGI entry point of the reference apps, for gunicorn (bench/reference_settings.py)."""

from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

os.environ["DJANGO_SETTINGS_MODULE"] = "bench.reference_settings"
application = get_wsgi_application()
