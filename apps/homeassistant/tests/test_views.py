"""The Home Assistant page: each of my households with its link; members and owners toggle it from
a form (with CSRF like every page), viewers see its state only."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.utils.html import escape

from apps.accounts.models import User
from apps.homeassistant.models import HomeAssistantLink
from apps.households.models import Household
from apps.households.roles import Role
from apps.households.tests.factories import household_of, member_add

pytestmark = pytest.mark.django_db

URL = "/accounts/home-assistant/"


def logged_in(user: User) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def post(client: Client, data: dict[str, str]) -> Any:
    client.get(URL)  # sets the CSRF cookie, as a browser's first visit does
    return client.post(URL, {**data, "csrfmiddlewaretoken": client.cookies["csrftoken"].value})


def enabled(household: Household) -> bool:
    return HomeAssistantLink.objects.filter(household=household, enabled=True).exists()


def test_the_page_lists_each_household_off_with_its_discovery_prefix(alice: User, bob: User, settings: Any) -> None:
    settings.MQTT_URL, settings.MQTT_TOPIC_PREFIX = "mqtt://bridge:s3cret@broker.example.com:1883", "catfeeder"
    alices, bobs = household_of(alice), household_of(bob)
    member_add(bobs, alice, Role.MEMBER)
    page = logged_in(alice).get(URL).content.decode()
    for household in (alices, bobs):
        assert f"<code data-discovery-prefix>catfeeder/{household.pk}</code>" in page
        assert f'<section data-household="{household.pk}">' in page
        assert f'id="id_h{household.pk}_enabled"' in page  # a toggle each, with ids of its own
    assert page.count('<span class="badge off">off</span>') == 2
    assert "catfeeder/bridge/availability" in page
    assert "s3cret" not in page  # the broker's credentials stay on the server
    assert 'aria-current="page">Home Assistant</a>' in page
    assert not HomeAssistantLink.objects.exists()  # reading writes nothing


def test_a_member_turns_one_household_on_and_off(alice: User, bob: User, settings: Any) -> None:
    settings.MQTT_URL = "mqtt://broker.example.com:1883"
    alices, bobs = household_of(alice), household_of(bob)
    member_add(bobs, alice, Role.MEMBER)
    client = logged_in(alice)
    response = post(client, {"household": str(bobs.pk), "enabled": "on"})
    assert (response.status_code, response["Location"]) == (302, URL)
    assert enabled(bobs)
    assert not enabled(alices)
    assert HomeAssistantLink.objects.get(household=bobs).enabled_by_id == alice.pk
    page = client.get(URL).content.decode()
    assert escape(f"Home Assistant is on for {bobs.name}.") in page
    assert '<span class="badge ok">on</span>' in page
    assert "Turned on by Alice" in page
    assert "checked" in page
    post(client, {"household": str(bobs.pk)})  # an unticked checkbox sends nothing
    assert not enabled(bobs)


def test_a_viewer_sees_the_state_without_a_toggle_and_a_forged_post_is_refused(alice: User, bob: User) -> None:
    bobs = household_of(bob)
    member_add(bobs, alice, Role.VIEWER)
    post(logged_in(bob), {"household": str(bobs.pk), "enabled": "on"})
    page = logged_in(alice).get(URL).content.decode()
    assert '<span class="badge ok">on</span>' in page
    assert f'id="id_h{bobs.pk}_enabled"' not in page
    assert "As a viewer you see whether it is on" in page
    assert post(logged_in(alice), {"household": str(bobs.pk)}).status_code == 403
    assert enabled(bobs)


def test_a_household_not_mine_is_a_404_and_stays_as_it_was(alice: User, charlie: User) -> None:
    alices = household_of(alice)
    assert f'data-household="{alices.pk}"' not in logged_in(charlie).get(URL).content.decode()
    assert post(logged_in(charlie), {"household": str(alices.pk), "enabled": "on"}).status_code == 404
    assert post(logged_in(charlie), {"household": str(2**63), "enabled": "on"}).status_code == 404
    assert not HomeAssistantLink.objects.exists()


def test_a_post_without_the_csrf_token_is_refused(alice: User) -> None:
    alices = household_of(alice)
    assert logged_in(alice).post(URL, {"household": str(alices.pk), "enabled": "on"}).status_code == 403
    assert not enabled(alices)


def test_it_says_when_the_server_has_no_broker(alice: User, settings: Any) -> None:
    settings.MQTT_URL = ""
    assert "no MQTT broker on this server" in logged_in(alice).get(URL).content.decode()


def test_it_needs_a_log_in() -> None:
    response = Client().get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
