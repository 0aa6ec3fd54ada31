"""The project's ASGI app as `serve --reload` runs it: with static files served in DEBUG, as runserver does."""

from __future__ import annotations

from django.conf import settings
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

from catfeeder.asgi import application as project_application

application = ASGIStaticFilesHandler(project_application) if settings.DEBUG else project_application
