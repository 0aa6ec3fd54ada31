"""The session engine: Django's cached_db, reading sessions made before apps.accounts.backends.

Django remembers in each session the dotted path of the backend that logged it
in, and refuses a session whose backend is no longer in AUTHENTICATION_BACKENDS.
Sessions and app tokens made with Django's or allauth's own backend are read as
made with its subclass in apps.accounts.backends, so that nobody is logged out
by the change. Subclassing a SessionStore is Django's documented way to make a
session engine.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import BACKEND_SESSION_KEY
from django.contrib.sessions.backends.cached_db import SessionStore as CachedDbStore

RENAMED_BACKENDS = {
    "django.contrib.auth.backends.ModelBackend": "apps.accounts.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend": "apps.accounts.backends.AuthenticationBackend",
}


class SessionStore(CachedDbStore):
    def load(self) -> dict[str, Any]:
        data: dict[str, Any] = super().load()
        renamed = RENAMED_BACKENDS.get(data.get(BACKEND_SESSION_KEY, ""))
        if renamed is not None:
            data[BACKEND_SESSION_KEY] = renamed
        return data
