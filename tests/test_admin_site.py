"""The admin says whose it is, names each app's section apart, and every page, the
admin's and the owners', has a favicon; /favicon.ico answers too."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from apps.accounts.models import User

pytestmark = pytest.mark.django_db

ICON_LINK = re.compile(r'<link rel="icon" href="(?P<href>[^"]+)" type="image/svg\+xml">')


@pytest.fixture
def operator(db: None) -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser(email="ops@example.com", password="not-used-here-9"))
    return client


def icon_of(page: str) -> str:
    match = ICON_LINK.search(page)
    assert match is not None, "no <link rel=icon>"
    return match["href"]


def test_the_admin_is_cat_feeders(operator: Client) -> None:
    page = operator.get("/admin/").content.decode()
    assert "<title>Sections | Cat Feeder admin</title>" in page
    assert "Cat Feeder administration" in page
    assert "Django" not in page


def test_each_apps_section_has_a_name_of_its_own(operator: Client) -> None:
    sections = [app["name"] for app in operator.get("/admin/").context["app_list"]]
    assert len(sections) == len(set(sections)), sections
    assert {"Accounts", "E-mail addresses"} <= set(sections)


@pytest.mark.parametrize(
    "path",
    [
        "/admin/",
        "/admin/accounts/user/",
        "/admin/accounts/user/add/",
        "/admin/account/emailaddress/",
        "/admin/django_celery_beat/periodictask/add/",
        "/admin/password_change/",
    ],
)
def test_every_admin_page_has_the_favicon(operator: Client, path: str) -> None:
    response = operator.get(path)
    assert response.status_code == 200
    assert icon_of(response.content.decode()) == "/static/favicon.svg"


def test_the_admin_login_page_has_the_favicon() -> None:
    assert icon_of(Client().get("/admin/login/").content.decode()) == "/static/favicon.svg"


@pytest.mark.parametrize("path", ["/accounts/login/", "/accounts/signup/", "/no-such-page/"])
def test_the_owner_pages_have_the_favicon(path: str) -> None:
    assert icon_of(Client().get(path).content.decode()) == "/static/favicon.svg"


def test_a_signed_in_owners_dashboard_has_the_favicon(alice: User) -> None:
    client = Client()
    client.force_login(alice)
    response = client.get("/")
    assert response.status_code == 200
    assert icon_of(response.content.decode()) == "/static/favicon.svg"


def test_favicon_ico_answers_with_the_icon_not_a_404() -> None:
    response = Client().get("/favicon.ico", follow=True)
    assert response.redirect_chain == [("/static/favicon.ico", 301)]
    assert response.status_code == 200
    assert b"".join(response.streaming_content)[:4] == b"\x00\x00\x01\x00"  # an ICO file's header


def test_the_linked_svg_is_served() -> None:
    response = Client().get("/static/favicon.svg")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("image/svg+xml")
