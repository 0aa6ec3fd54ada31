"""The one authentication layer of the REST API and the owner socket.

An owner is recognised by either
- the allauth headless app token (`X-Session-Token`, from /_allauth/app/v1/auth/login), or
- the browser session cookie, with Django's CSRF check on unsafe methods
  (on the socket: `scope_owner`, with the route's Origin check).

Both are server-side sessions (allauth's session-token strategy), listed in
/api/me/sessions. An app token stops working (401) when the app logs out, the
owner ends it from the session list or logs out everywhere, the password
changes, the account is deleted, or it goes unused for SESSION_COOKIE_AGE.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from http.cookies import SimpleCookie
from importlib import import_module
from typing import Any

from allauth.headless.contrib.ninja.security import XSessionTokenAuth
from allauth.headless.tokens.strategies.sessions import SessionTokenStrategy
from allauth.usersessions.models import UserSession
from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.auth import SESSION_KEY, get_user
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.sessions.backends.base import SessionBase
from django.http import HttpRequest
from django.utils import timezone
from ninja.errors import AuthenticationError
from ninja.security import SessionAuth

# An app token's expiry is pushed back to SESSION_COOKIE_AGE from its last use,
# with one write per token at most this often.
APP_TOKEN_TOUCH_INTERVAL = 300  # seconds
_LAST_USED_KEY = "catfeeder_last_used"  # in the token's session data, epoch seconds


def session_store(session_key: str | None = None) -> SessionBase:
    """A session of the configured engine, as Django's documentation builds one outside a view."""
    store: SessionBase = import_module(settings.SESSION_ENGINE).SessionStore(session_key=session_key)
    return store


def session_user(session: SessionBase) -> AbstractBaseUser | None:
    """The active user logged in on `session`, checked as Django checks a request's."""
    request = HttpRequest()
    request.session = session
    user = get_user(request)
    return user if isinstance(user, AbstractBaseUser) and user.is_active else None


class OneReadSessionTokenStrategy(SessionTokenStrategy):
    """allauth's session-token strategy, reading the token's session once instead of twice.

    allauth's own asks the session store whether the key exists and then loads
    it (HEADLESS_TOKEN_STRATEGY). Loading alone tells: Django drops the key of
    a session it cannot find or that has expired (apps/api/tests/test_auth_sessions.py pins it).
    """

    def lookup_session(self, session_token: str) -> SessionBase | None:
        session = session_store(session_token)
        session.get(SESSION_KEY)  # loads it
        return session if session.session_key else None


token_strategy = OneReadSessionTokenStrategy()


def app_token_session(token: str) -> tuple[AbstractBaseUser, SessionBase] | None:
    """The owner behind an app token and the token's session, or None (unknown, ended, inactive)."""
    session = token_strategy.lookup_session(token) if token else None
    user = session_user(session) if session is not None else None
    return (user, session) if user is not None and session is not None else None


class AppTokenAuth(XSessionTokenAuth):
    # ninja documents a scheme from the class's own `openapi_*` attributes;
    # allauth's gives only the type, which is not a valid security scheme.
    openapi_type = "apiKey"
    openapi_in = "header"
    openapi_name = "X-Session-Token"
    openapi_description = "App token from POST /_allauth/app/v1/auth/login (meta.session_token)."

    def __call__(self, request: HttpRequest) -> Any:
        found = app_token_session(self.get_session_token(request) or "")
        if found is None:
            return None
        user, session = found
        app_token_touch(session)
        # Handlers and selectors read request.user either way. It is an instance of
        # AUTH_USER_MODEL, which django-stubs types request.user as; the framework only knows its base.
        request.user = user  # type: ignore[assignment]
        return user


class BrowserSessionAuth(SessionAuth):
    """The session cookie; ninja checks CSRF on unsafe methods (csrf=True)."""

    def __call__(self, request: HttpRequest) -> Any:
        user = super().__call__(request)
        return user if user is not None and user.is_active else None


app_token_auth = AppTokenAuth()
session_auth = BrowserSessionAuth(csrf=True)
owner_auth: list[Callable[[HttpRequest], Any]] = [app_token_auth, session_auth]


def request_user(request: HttpRequest) -> AbstractBaseUser:
    """The authenticated user making this request (the auth layer ran first), as Django's base user."""
    user = request.user
    if not isinstance(user, AbstractBaseUser):
        raise AuthenticationError()
    return user


def request_session_key(request: HttpRequest) -> str | None:
    """The key of the session this request came in on: its app token, else its cookie session."""
    return request.headers.get("X-Session-Token") or request.session.session_key


def scope_owner_sync(scope: dict[str, Any]) -> AbstractBaseUser | None:
    """The owner behind a WebSocket handshake (the owner socket's door), or None.

    An app sends its token in the X-Session-Token header; a browser cannot set
    headers on a WebSocket and sends its session cookie instead. The cookie is
    only safe with the Origin check on the route (AllowedHostsOriginValidator),
    which is to sockets what the CSRF check is to forms.
    """
    headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope.get("headers", [])}
    token = headers.get("x-session-token")
    if token:
        found = app_token_session(token)
        if found is None:
            return None
        app_token_touch(found[1])
        return found[0]
    cookies = SimpleCookie(headers.get("cookie", ""))
    morsel = cookies.get(settings.SESSION_COOKIE_NAME)
    return session_user(session_store(morsel.value)) if morsel else None


scope_owner = database_sync_to_async(scope_owner_sync)


def app_token_touch(session: SessionBase) -> None:
    """Keep a used token alive: its expiry restarts, its "last seen" moves."""
    now = time.time()
    if now - float(session.get(_LAST_USED_KEY, 0)) < APP_TOKEN_TOUCH_INTERVAL:
        return
    session[_LAST_USED_KEY] = now
    session.save()  # the store sets the expiry to SESSION_COOKIE_AGE from now
    UserSession.objects.filter(session_key=session.session_key).update(last_seen_at=timezone.now())
