"""The owner's Home Assistant page: the link turned on and off from a form, with CSRF like every page."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from apps.accounts.models import User
from apps.homeassistant.models import HomeAssistantLink

pytestmark = pytest.mark.django_db

URL = "/accounts/home-assistant/"


def logged_in(user: User) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def post(client: Client, data: dict[str, str]) -> Any:
    client.get(URL)  # sets the CSRF cookie, as a browser's first visit does
    return client.post(URL, {**data, "csrfmiddlewaretoken": client.cookies["csrftoken"].value})


def enabled(user: User) -> bool:
    return HomeAssistantLink.objects.filter(owner=user, enabled=True).exists()


def test_the_page_shows_the_link_off_and_the_discovery_prefix_to_give_home_assistant(
    alice: User, settings: Any
) -> None:
    settings.MQTT_URL, settings.MQTT_TOPIC_PREFIX = "mqtt://bridge:s3cret@broker.example.com:1883", "catfeeder"
    page = logged_in(alice).get(URL).content.decode()
    assert f"<code data-discovery-prefix>catfeeder/{alice.pk}</code>" in page
    assert "catfeeder/bridge/availability" in page
    assert '<span class="badge off">off</span>' in page
    assert "s3cret" not in page  # the broker's credentials stay on the server
    assert 'aria-current="page">Home Assistant</a>' in page
    assert not HomeAssistantLink.objects.exists()  # reading writes nothing


def test_the_owner_turns_it_on_and_off(alice: User, settings: Any) -> None:
    settings.MQTT_URL = "mqtt://broker.example.com:1883"
    client = logged_in(alice)
    response = post(client, {"enabled": "on"})
    assert (response.status_code, response["Location"]) == (302, URL)
    assert enabled(alice)
    page = client.get(URL).content.decode()
    assert "Home Assistant is on." in page
    assert '<span class="badge ok">on</span>' in page
    assert "checked" in page
    post(client, {})  # an unticked checkbox sends nothing
    assert not enabled(alice)


def test_one_owners_toggle_leaves_the_others_alone(alice: User, charlie: User) -> None:
    post(logged_in(alice), {"enabled": "on"})
    post(logged_in(charlie), {})
    assert enabled(alice)
    assert not enabled(charlie)
    assert f"catfeeder/{charlie.pk}" in logged_in(charlie).get(URL).content.decode()


def test_a_post_without_the_csrf_token_is_refused(alice: User) -> None:
    assert logged_in(alice).post(URL, {"enabled": "on"}).status_code == 403
    assert not enabled(alice)


def test_it_says_when_the_server_has_no_broker(alice: User, settings: Any) -> None:
    settings.MQTT_URL = ""
    assert "no MQTT broker on this server" in logged_in(alice).get(URL).content.decode()


def test_it_needs_a_log_in() -> None:
    response = Client().get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
