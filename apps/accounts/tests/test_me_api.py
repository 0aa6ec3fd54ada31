from __future__ import annotations

import pytest
from django.test import Client

from apps.accounts.models import User
from conftest import app_token

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"


def test_an_anonymous_caller_gets_401_problem() -> None:
    response = Client().get("/api/me")
    assert response.status_code == 401
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert body["status"] == 401
    assert body["title"] == "Unauthorized"
    assert "X-Session-Token" in body["detail"]


def test_the_browser_session_reads_my_profile(alice: User) -> None:
    client = Client()
    client.force_login(alice)
    response = client.get("/api/me")
    assert response.status_code == 200
    assert response.json()["email"] == "alice@example.com"


def test_a_session_write_without_the_csrf_token_is_refused(alice: User) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    response = client.patch("/api/me", {"name": "Mallory"}, content_type="application/json")
    assert response.status_code == 403
    assert response["Content-Type"] == PROBLEM
    alice.refresh_from_db()
    assert alice.name == "Alice"


def test_a_session_write_with_the_csrf_token_goes_through(alice: User) -> None:
    client = Client(enforce_csrf_checks=True)
    client.get("/accounts/login/")  # a form page sets the CSRF cookie
    token = client.cookies["csrftoken"].value
    client.force_login(alice)
    response = client.patch(
        "/api/me", {"time_zone": "Europe/Paris"}, content_type="application/json", HTTP_X_CSRFTOKEN=token
    )
    assert response.status_code == 200, response.content
    assert response.json()["time_zone"] == "Europe/Paris"


def test_an_app_token_reads_my_profile(alice: User, bob: User) -> None:
    token = app_token(Client(), bob)
    response = Client().get("/api/me", HTTP_X_SESSION_TOKEN=token)
    assert response.status_code == 200
    assert response.json()["email"] == "bob@example.com"


def test_an_unknown_app_token_gets_401() -> None:
    response = Client().get("/api/me", HTTP_X_SESSION_TOKEN="not-a-token")
    assert response.status_code == 401


def test_an_app_token_logged_out_stops_working(alice: User) -> None:
    token = app_token(Client(), alice)
    assert Client().delete("/_allauth/app/v1/auth/session", HTTP_X_SESSION_TOKEN=token).status_code == 401
    assert Client().get("/api/me", HTTP_X_SESSION_TOKEN=token).status_code == 401


def test_a_bad_field_gets_422_with_the_field_named_and_changes_nothing(alice: User) -> None:
    token = app_token(Client(), alice)
    response = Client().patch(
        "/api/me", {"time_zone": "Mars/Olympus"}, content_type="application/json", HTTP_X_SESSION_TOKEN=token
    )
    assert response.status_code == 422
    assert response["Content-Type"] == PROBLEM
    [error] = response.json()["errors"]
    assert error["loc"][-1] == "time_zone"
    assert "unknown time zone" in error["msg"]
    alice.refresh_from_db()
    assert alice.time_zone == "UTC"


def test_malformed_json_gets_400_problem(alice: User) -> None:
    token = app_token(Client(), alice)
    response = Client().patch("/api/me", "{not json", content_type="application/json", HTTP_X_SESSION_TOKEN=token)
    assert response.status_code == 400
    assert response["Content-Type"] == PROBLEM
