"""The product's ASGI app, with stock Django's ASGI handler mounted for reference views.

The reference is what `startproject` gives: Django's ASGI handler with the
default MIDDLEWARE of a new project, not the product's longer list.
"""

from __future__ import annotations

from typing import Any

from django.core.asgi import get_asgi_application
from django.test import override_settings

from catfeeder.asgi import application as product

STARTPROJECT_MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
with override_settings(MIDDLEWARE=STARTPROJECT_MIDDLEWARE):  # the chain is built here, once
    stock_django = get_asgi_application()
STOCK_PREFIX = "/bench/stock/"


async def application(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "http" and scope["path"].startswith(STOCK_PREFIX):
        await stock_django(scope, receive, send)
    else:
        await product(scope, receive, send)
