"""The owner behind an authenticated request, as this product's User."""

from __future__ import annotations

from django.http import HttpRequest
from ninja.errors import AuthenticationError

from apps.accounts.models import User
from apps.api.auth import request_user


def owner(request: HttpRequest) -> User:
    """The authenticated owner making this request (the API's auth layer ran first)."""
    user = request_user(request)
    if not isinstance(user, User):
        raise AuthenticationError()
    return user
