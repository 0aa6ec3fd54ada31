"""The one authentication layer of the REST API (and, later, the owner socket).

An owner is recognised by either
- the allauth headless app token (`X-Session-Token`, from /_allauth/app/v1/auth/login), or
- the browser session cookie, with Django's CSRF check on unsafe methods.

Both are server-side sessions (allauth's session-token strategy), listed in
/api/me/sessions. An app token stops working (401) when the app logs out, the
owner ends it from the session list or logs out everywhere, the password
changes, the account is deleted, or it goes unused for SESSION_COOKIE_AGE.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from allauth.headless.contrib.ninja.security import XSessionTokenAuth
from allauth.headless.internal.sessionkit import authenticate_by_x_session_token
from allauth.usersessions.models import UserSession
from django.contrib.sessions.backends.base import SessionBase
from django.http import HttpRequest
from django.utils import timezone
from ninja.errors import AuthenticationError
from ninja.security import SessionAuth

from apps.accounts.models import User

# An app token's expiry is pushed back to SESSION_COOKIE_AGE from its last use,
# with one write per token at most this often.
APP_TOKEN_TOUCH_INTERVAL = 300  # seconds
_LAST_USED_KEY = "catfeeder_last_used"  # in the token's session data, epoch seconds


class AppTokenAuth(XSessionTokenAuth):
    def __call__(self, request: HttpRequest) -> Any:
        token = self.get_session_token(request)
        found = authenticate_by_x_session_token(token) if token else None
        if found is None:
            return None
        user, session = found
        app_token_touch(session)
        request.user = user  # handlers and selectors read request.user either way
        return user


class BrowserSessionAuth(SessionAuth):
    """The session cookie; ninja checks CSRF on unsafe methods (csrf=True)."""

    def __call__(self, request: HttpRequest) -> Any:
        user = super().__call__(request)
        return user if user is not None and user.is_active else None


app_token_auth = AppTokenAuth()
session_auth = BrowserSessionAuth(csrf=True)
owner_auth: list[Callable[[HttpRequest], Any]] = [app_token_auth, session_auth]


def owner(request: HttpRequest) -> User:
    """The authenticated owner making this request (the auth layer ran first)."""
    user = request.user
    if not isinstance(user, User) or not user.is_authenticated:
        raise AuthenticationError()
    return user


def request_session_key(request: HttpRequest) -> str | None:
    """The key of the session this request came in on: its app token, else its cookie session."""
    return request.headers.get("X-Session-Token") or request.session.session_key


def app_token_touch(session: SessionBase) -> None:
    """Keep a used token alive: its expiry restarts, its "last seen" moves."""
    now = time.time()
    if now - float(session.get(_LAST_USED_KEY, 0)) < APP_TOKEN_TOUCH_INTERVAL:
        return
    session[_LAST_USED_KEY] = now
    session.save()  # the store sets the expiry to SESSION_COOKIE_AGE from now
    UserSession.objects.filter(session_key=session.session_key).update(last_seen_at=timezone.now())
