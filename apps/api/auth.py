"""The one authentication layer of the REST API (and, later, the owner socket).

An owner is recognised by either
- the allauth headless app token (`X-Session-Token`, from /_allauth/app/v1/auth/login), or
- the browser session cookie, with Django's CSRF check on unsafe methods.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from allauth.headless.contrib.ninja.security import XSessionTokenAuth
from django.http import HttpRequest
from ninja.errors import AuthenticationError
from ninja.security import SessionAuth

from apps.accounts.models import User


class AppTokenAuth(XSessionTokenAuth):
    # ninja documents a scheme from the class's own `openapi_*` attributes;
    # allauth's gives only the type, which is not a valid security scheme.
    openapi_type = "apiKey"
    openapi_in = "header"
    openapi_name = "X-Session-Token"
    openapi_description = "App token from POST /_allauth/app/v1/auth/login (meta.session_token)."

    def __call__(self, request: HttpRequest) -> Any:
        user = super().__call__(request)
        if user is not None:
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
