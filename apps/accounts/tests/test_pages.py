"""The account pages: the site's layout around allauth's, the profile, the session list."""

from __future__ import annotations

import re
import uuid

import pytest
from allauth.usersessions.models import UserSession
from django.test import Client

from apps.accounts.models import User
from apps.accounts.tests.factories import PASSWORD, UserFactory
from conftest import app_token, unique_ip

pytestmark = pytest.mark.django_db


def logged_in(user: User) -> Client:
    client = Client()
    response = client.post("/accounts/login/", {"login": user.email, "password": PASSWORD}, REMOTE_ADDR=unique_ip())
    assert response.status_code == 302
    return client


def off_site_assets(page: str) -> list[str]:
    """Scripts, styles and images the page loads from anywhere but this site.

    Matched on the attributes, not on "cdn" anywhere: a random CSRF token may spell it.
    """
    return re.findall(r"""(?:src|href)=["']((?:https?:)?//[^"']+)["']""", page)


@pytest.mark.parametrize("path", ["/accounts/login/", "/accounts/signup/", "/accounts/password/reset/"])
def test_entrance_pages_use_the_site_layout_and_local_css(path: str) -> None:
    page = Client().get(path).content.decode()
    assert '<link rel="stylesheet" href="/static/css/site.css">' in page
    assert "· Cat Feeder</title>" in page
    assert 'class="card"' in page
    assert off_site_assets(page) == []


def test_logging_in_lands_on_the_dashboard_and_the_profile_shows_the_verified_address(alice: User) -> None:
    client = Client()
    response = client.post(
        "/accounts/login/", {"login": alice.email, "password": PASSWORD}, REMOTE_ADDR=unique_ip(), follow=True
    )
    assert response.redirect_chain[-1][0] == "/"
    page = client.get("/accounts/profile/").content.decode()
    assert "not verified" not in page
    assert 'aria-current="page"' in page


def test_logging_in_with_an_unverified_address_asks_for_the_mailed_code(db: None) -> None:
    dora = UserFactory(email_verified=False)
    client = Client()
    response = client.post("/accounts/login/", {"login": dora.email, "password": PASSWORD}, REMOTE_ADDR=unique_ip())
    assert response["Location"] == "/accounts/confirm-email/"
    assert client.get("/accounts/profile/").status_code == 302  # not logged in until the code


def test_the_profile_form_changes_name_and_time_zone(alice: User) -> None:
    client = logged_in(alice)
    response = client.post("/accounts/profile/", {"name": "Alice L.", "time_zone": "Europe/Paris"})
    assert response.status_code == 302
    alice.refresh_from_db()
    assert (alice.name, alice.time_zone) == ("Alice L.", "Europe/Paris")


def test_the_profile_refuses_an_unknown_time_zone(alice: User) -> None:
    response = logged_in(alice).post("/accounts/profile/", {"name": "A", "time_zone": "Mars/Olympus"})
    assert response.status_code == 200
    alice.refresh_from_db()
    assert alice.time_zone == "UTC"


def test_the_session_page_lists_apps_and_browsers_and_ends_one(alice: User) -> None:
    token = app_token(Client(), alice)
    client = logged_in(alice)
    page = client.get("/accounts/sessions/").content.decode()
    assert "App" in page
    assert "this one" in page

    app_session = UserSession.objects.get(user=alice, session_key=token)
    response = client.post(f"/accounts/sessions/{app_session.pk}/end/")
    assert response.status_code == 302
    assert Client(HTTP_X_SESSION_TOKEN=token).get("/api/me").status_code == 401
    assert client.get("/api/me").status_code == 200


def test_charlie_cannot_end_alices_session_from_the_page(alice: User, charlie: User) -> None:
    token = app_token(Client(), alice)
    app_session = UserSession.objects.get(user=alice, session_key=token)
    response = logged_in(charlie).post(f"/accounts/sessions/{app_session.pk}/end/")
    assert response.status_code == 404
    assert Client(HTTP_X_SESSION_TOKEN=token).get("/api/me").status_code == 200


def test_the_account_api_spec_is_served_without_a_cdn() -> None:
    page = Client().get("/_allauth/openapi.html").content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in page
    assert off_site_assets(page) == []
    assert Client().get("/_allauth/openapi.json").status_code == 200
    assert "/_allauth/openapi.html" in Client().get("/api/openapi.json").json()["info"]["description"]


@pytest.mark.parametrize(("sent", "kept"), [("America/New_York", "America/New_York"), ("Mars/Olympus", "UTC")])
def test_sign_up_keeps_the_browser_time_zone_if_it_is_a_real_one(sent: str, kept: str) -> None:
    page = Client().get("/accounts/signup/").content.decode()
    assert 'name="time_zone"' in page
    assert "data-browser-time-zone" in page
    # An address of its own: the verification mail's rate limit (per address, in the shared cache) outlives a test.
    email = f"new-{uuid.uuid4().hex[:8]}@example.com"
    data = {"email": email, "password1": PASSWORD, "password2": PASSWORD, "time_zone": sent}
    response = Client().post("/accounts/signup/", data, REMOTE_ADDR=unique_ip())
    assert response.status_code == 302
    assert User.objects.get(email=email).time_zone == kept
