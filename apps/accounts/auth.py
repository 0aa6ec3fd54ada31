"""The owner behind an authenticated request, as this product's User."""

from __future__ import annotations

from django.http import HttpRequest
from ninja.errors import AuthenticationError

from apps.accounts.models import User


def owner(request: HttpRequest) -> User:
    """The authenticated owner making this request (the API's auth layer ran first)."""
    user = request.user
    if not isinstance(user, User) or not user.is_authenticated:
        raise AuthenticationError()
    return user
