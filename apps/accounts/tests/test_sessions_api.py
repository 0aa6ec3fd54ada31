"""/api/me/sessions: list my sessions and app tokens, end one, log out everywhere;
and what makes an app token stop working (401)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django.utils import timezone

from apps.accounts.models import User
from apps.accounts.tests.factories import PASSWORD
from conftest import app_token, unique_ip

pytestmark = pytest.mark.django_db


def api(token: str) -> Client:
    return Client(HTTP_X_SESSION_TOKEN=token)


def browser_login(user: User) -> Client:
    client = Client()
    response = client.post("/accounts/login/", {"login": user.email, "password": PASSWORD}, REMOTE_ADDR=unique_ip())
    assert response.status_code == 302
    return client


def test_it_lists_browser_sessions_and_app_tokens_marking_the_current_one(alice: User) -> None:
    phone = app_token(Client(), alice)
    browser_login(alice)
    sessions = api(phone).get("/api/me/sessions").json()
    assert sorted(s["client"] for s in sessions) == ["app", "browser"]
    [current] = [s for s in sessions if s["current"]]
    assert current["client"] == "app"


def test_charlie_sees_none_of_alices_sessions_and_cannot_end_them(alice: User, charlie: User) -> None:
    alice_token = app_token(Client(), alice)
    charlie_token = app_token(Client(), charlie)
    [alices] = api(alice_token).get("/api/me/sessions").json()
    assert [s["id"] for s in api(charlie_token).get("/api/me/sessions").json()] != [alices["id"]]

    response = api(charlie_token).delete(f"/api/me/sessions/{alices['id']}")
    assert response.status_code == 404
    assert api(alice_token).get("/api/me").status_code == 200


def test_an_ended_app_token_gets_401(alice: User) -> None:
    phone, tablet = app_token(Client(), alice), app_token(Client(), alice)
    sessions = api(tablet).get("/api/me/sessions").json()
    [phone_session] = [s for s in sessions if not s["current"]]

    assert api(tablet).delete(f"/api/me/sessions/{phone_session['id']}").status_code == 204
    assert api(phone).get("/api/me").status_code == 401
    assert api(tablet).get("/api/me").status_code == 200


def test_log_out_everywhere_ends_every_token_and_browser_session(alice: User, bob: User) -> None:
    phone, tablet = app_token(Client(), alice), app_token(Client(), alice)
    browser = browser_login(alice)
    bobs = app_token(Client(), bob)

    assert api(phone).delete("/api/me/sessions").status_code == 204

    assert api(phone).get("/api/me").status_code == 401
    assert api(tablet).get("/api/me").status_code == 401
    assert browser.get("/api/me").status_code == 401
    assert api(bobs).get("/api/me").status_code == 200  # only alice's


def test_a_password_change_ends_the_other_app_tokens(alice: User) -> None:
    phone = app_token(Client(), alice)
    browser = browser_login(alice)
    response = browser.post(
        "/accounts/password/change/",
        {"oldpassword": PASSWORD, "password1": "another-horse-7", "password2": "another-horse-7"},
    )
    assert response.status_code == 302
    assert api(phone).get("/api/me").status_code == 401
    assert browser.get("/api/me").status_code == 200


def redis_expires_cached_sessions() -> None:
    """Sessions are cached (cached_db) and Redis expires the copies on its own
    clock, which time travel does not move: drop them as Redis would have."""
    from django.contrib.sessions.backends.cached_db import KEY_PREFIX
    from django.contrib.sessions.models import Session
    from django.core.cache import caches

    cache = caches[settings.SESSION_CACHE_ALIAS]
    cache.delete_many([KEY_PREFIX + key for key in Session.objects.values_list("session_key", flat=True)])


def test_an_unused_app_token_expires_after_the_session_age(alice: User) -> None:
    token = app_token(Client(), alice)
    with time_machine.travel(timezone.now() + timedelta(seconds=settings.SESSION_COOKIE_AGE + 60)):
        redis_expires_cached_sessions()
        assert api(token).get("/api/me").status_code == 401


def test_a_used_app_token_lives_on_past_the_session_age(alice: User) -> None:
    token = app_token(Client(), alice)
    age = timedelta(seconds=settings.SESSION_COOKIE_AGE)
    start = timezone.now()
    with time_machine.travel(start + age * 0.75, tick=False):
        assert api(token).get("/api/me").status_code == 200  # used: its expiry starts again
    with time_machine.travel(start + age * 1.5, tick=False):
        assert api(token).get("/api/me").status_code == 200
        [session] = api(token).get("/api/me/sessions").json()
        assert session["last_seen_at"] > session["created_at"]
    with time_machine.travel(start + age * 2.6, tick=False):
        redis_expires_cached_sessions()
        assert api(token).get("/api/me").status_code == 401


def test_the_browser_client_logs_in_with_csrf_and_reaches_the_api(alice: User) -> None:
    client = Client(enforce_csrf_checks=True)
    client.get("/_allauth/browser/v1/config")  # sets the CSRF cookie
    csrf = client.cookies["csrftoken"].value
    response = client.post(
        "/_allauth/browser/v1/auth/login",
        {"email": alice.email, "password": PASSWORD},
        content_type="application/json",
        HTTP_X_CSRFTOKEN=csrf,
        REMOTE_ADDR=unique_ip(),
    )
    assert response.status_code == 200, response.content
    assert "session_token" not in response.json()["meta"]  # the cookie is the credential
    assert client.get("/api/me").json()["email"] == alice.email
    [session] = client.get("/api/me/sessions").json()
    assert session == {**session, "client": "browser", "current": True}
