"""Settings of the references `bench/rest_read.py` compares the REST API with.

What a Django user would deploy instead: the product's models and database,
`startproject`'s middleware, Django REST Framework with token authentication
and django-ninja, served by gunicorn (bench/reference_wsgi.py). The tables
are the product's; DRF's token table comes from `rest_framework.authtoken`.
"""

from __future__ import annotations

from catfeeder.settings.base import *  # noqa: F403
from catfeeder.settings.base import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "rest_framework", "rest_framework.authtoken"]
ROOT_URLCONF = "bench.reference_urls"
MIDDLEWARE = [  # startproject's
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",  # allauth (installed: the product's users) requires it
]
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.TokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
}
