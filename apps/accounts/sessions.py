"""The session engine: Django's cached_db, reading sessions made before apps.accounts.backends.

Django remembers in each session the dotted path of the backend that logged it
in, and refuses a session whose backend is no longer in AUTHENTICATION_BACKENDS.
Sessions and app tokens made with Django's or allauth's own backend are read as
made with its subclass in apps.accounts.backends, so that nobody is logged out
by the change. Subclassing a SessionStore is Django's documented way to make a
session engine.

The session is read from the cache together with the users' generation (one
MGET): the user lookup that follows needs it, and a round trip to Redis was a
thirtieth of a REST read's CPU. Anything else (not in the cache, Redis failing)
is cached_db's own load.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY
from django.contrib.sessions.backends.cached_db import SessionStore as CachedDbStore
from django.core.cache import caches

from apps.accounts.backends import GENERATION_KEY, copies

RENAMED_BACKENDS = {
    "django.contrib.auth.backends.ModelBackend": "apps.accounts.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend": "apps.accounts.backends.AuthenticationBackend",
}


class SessionStore(CachedDbStore):
    def load(self) -> dict[str, Any]:
        data = self.cached() if self.session_key is not None else None
        if data is None:
            data = super().load()
        renamed = RENAMED_BACKENDS.get(data.get(BACKEND_SESSION_KEY, ""))
        if renamed is not None:
            data[BACKEND_SESSION_KEY] = renamed
        return data

    def cached(self) -> dict[str, Any] | None:
        cache = caches[settings.SESSION_CACHE_ALIAS]
        # Redis failing raises, as cached_db's own load does when it writes the row read from the
        # database back to the cache: the request is answered 503 (docs/operations.md, Outages).
        found = cache.get_many([self.cache_key, GENERATION_KEY])
        if GENERATION_KEY in found:
            copies.generation_note(found[GENERATION_KEY])
        data: dict[str, Any] | None = found.get(self.cache_key)
        return data
