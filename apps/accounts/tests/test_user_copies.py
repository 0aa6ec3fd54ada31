"""The users kept per process by the authentication backends (apps/accounts/backends.py)."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.core.cache import cache
from django.test import Client

from apps.accounts.backends import GENERATION_KEY, copies
from apps.accounts.models import User
from apps.api.auth import session_store
from catfeeder.testing import AsgiServer
from conftest import app_token
from tests.test_schemathesis import login


def status(server: AsgiServer, token: str) -> int:
    request = urllib.request.Request(f"{server.url}/api/me", headers={"X-Session-Token": token})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback URL
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def test_a_user_deactivated_here_is_refused_by_another_process_at_its_next_request(
    asgi_server: AsgiServer, alice: User
) -> None:
    token = login(asgi_server, alice)
    assert status(asgi_server, token) == 200
    assert status(asgi_server, token) == 200  # served from the server's copy of alice now
    alice.is_active = False
    alice.save()
    assert status(asgi_server, token) == 401


def test_a_changed_password_ends_the_other_processes_copy_and_with_it_the_token(
    asgi_server: AsgiServer, alice: User
) -> None:
    token = login(asgi_server, alice)
    assert status(asgi_server, token) == 200
    alice.set_password("another-password-42")
    alice.save()
    assert status(asgi_server, token) == 401  # its session hash no longer matches


def test_a_deleted_user_is_refused_at_once(asgi_server: AsgiServer, alice: User) -> None:
    token = login(asgi_server, alice)
    assert status(asgi_server, token) == 200
    alice.delete()
    assert status(asgi_server, token) == 401


def test_a_new_generation_in_redis_ends_every_copy(asgi_server: AsgiServer, alice: User) -> None:
    """A Redis that restarts empty, or a change saved where this process does not see it."""
    token = login(asgi_server, alice)
    assert status(asgi_server, token) == 200
    User.objects.filter(pk=alice.pk).update(is_active=False)  # no signal: the copy stays
    assert status(asgi_server, token) == 200
    cache.delete(GENERATION_KEY)
    assert status(asgi_server, token) == 401


@pytest.mark.django_db
def test_the_copy_given_to_a_request_is_not_the_one_kept(alice: User) -> None:
    first = copies.get(alice.pk)
    assert first is not None
    first.name = "changed by a request"  # type: ignore[attr-defined]
    again = copies.get(alice.pk)
    assert again is not None
    assert again.name == alice.name  # type: ignore[attr-defined]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "old_backend",
    ["django.contrib.auth.backends.ModelBackend", "allauth.account.auth_backends.AuthenticationBackend"],
)
def test_a_session_made_with_django_or_allauths_own_backend_stays_logged_in(alice: User, old_backend: str) -> None:
    session = session_store()
    session[SESSION_KEY] = str(alice.pk)
    session[BACKEND_SESSION_KEY] = old_backend
    session[HASH_SESSION_KEY] = alice.get_session_auth_hash()
    session.create()
    client = Client()
    client.cookies[settings.SESSION_COOKIE_NAME] = session.session_key or ""
    response = client.get("/api/me")
    assert response.status_code == 200, response.content
    assert response.json()["email"] == alice.email


@pytest.mark.django_db
def test_an_app_token_works_across_users_changes_in_this_process(client: Client, alice: User) -> None:
    token = app_token(client, alice)
    assert client.get("/api/me", HTTP_X_SESSION_TOKEN=token).status_code == 200
    alice.is_active = False
    alice.save()  # in the test's transaction: no commit, this process's copies end at once
    assert client.get("/api/me", HTTP_X_SESSION_TOKEN=token).status_code == 401


@pytest.mark.django_db
def test_a_generation_read_with_a_session_serves_the_next_lookup_only(alice: User) -> None:
    copies.generation_note("read-with-the-session")
    assert copies.get(alice.pk) is not None  # kept under the noted generation
    User.objects.filter(pk=alice.pk).update(name="Changed")  # no signal: only a new generation tells
    again = copies.get(alice.pk)  # reads the generation itself: not the noted one, so not that copy
    assert again is not None
    assert again.name == "Changed"
