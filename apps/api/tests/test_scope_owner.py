"""The owner socket's door: the same app token or session cookie as the REST API."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from django.conf import settings
from django.test import Client

from apps.accounts.models import User
from apps.api.auth import scope_owner
from conftest import app_token

pytestmark = pytest.mark.django_db(transaction=True)  # scope_owner reads from another thread


def handshake(**headers: str) -> dict[str, object]:
    return {"type": "websocket", "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()]}


def test_an_app_token_header_opens_the_socket_for_its_owner(alice: User) -> None:
    token = app_token(Client(), alice)
    assert async_to_sync(scope_owner)(handshake(**{"X-Session-Token": token})) == alice


def test_a_browser_session_cookie_opens_the_socket_for_its_owner(bob: User) -> None:
    client = Client()
    client.force_login(bob)
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}; other=1"
    assert async_to_sync(scope_owner)(handshake(Cookie=cookie)) == bob


def test_an_ended_or_unknown_credential_opens_nothing(charlie: User) -> None:
    token = app_token(Client(), charlie)
    Client(HTTP_X_SESSION_TOKEN=token).delete("/api/me/sessions")
    assert async_to_sync(scope_owner)(handshake(**{"X-Session-Token": token})) is None
    assert async_to_sync(scope_owner)(handshake(**{"X-Session-Token": "nope"})) is None
    assert async_to_sync(scope_owner)(handshake(Cookie=f"{settings.SESSION_COOKIE_NAME}=nope")) is None
    assert async_to_sync(scope_owner)(handshake()) is None
