"""/api/home-assistant: a household's link, read by any member, turned on or off by a member or an owner."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from apps.accounts.models import User
from apps.homeassistant.models import HomeAssistantLink
from apps.households.roles import Role
from apps.households.tests.factories import household_of, member_add

pytestmark = pytest.mark.django_db

URL = "/api/home-assistant"


def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def put(user: User, body: dict[str, Any], query: str = "") -> Any:
    return logged_in(user).put(f"{URL}{query}", body, content_type="application/json")


def test_a_household_starts_off_and_reading_writes_nothing(alice: User, settings: Any) -> None:
    settings.MQTT_URL, settings.MQTT_TOPIC_PREFIX = "", "catfeeder"
    household = household_of(alice)
    response = logged_in(alice).get(URL)  # no household named: her default one
    assert response.status_code == 200
    assert response.json() == {
        "household_id": household.pk,
        "enabled": False,
        "enabled_by": None,
        "enabled_at": None,
        "may_change": True,
        "broker_configured": False,
        "discovery_prefix": f"catfeeder/{household.pk}",
        "availability_topic": "catfeeder/bridge/availability",
    }
    assert not HomeAssistantLink.objects.exists()


def test_a_put_turns_it_on_for_that_household_only_and_records_who(alice: User, bob: User, settings: Any) -> None:
    settings.MQTT_URL = "mqtt://user:secret@broker.example.com:1883"
    alices, bobs = household_of(alice), household_of(bob)
    response = put(alice, {"enabled": True})
    assert response.status_code == 200
    body = response.json()
    assert (body["household_id"], body["enabled"], body["enabled_by"]) == (alices.pk, True, alice.pk)
    assert body["enabled_at"] is not None
    assert body["broker_configured"] is True
    assert "secret" not in response.content.decode()  # the broker's credentials stay on the server
    assert logged_in(bob).get(URL).json()["enabled"] is False
    assert not HomeAssistantLink.objects.filter(household=bobs).exists()
    response = put(alice, {"enabled": False})
    assert (response.json()["enabled"], response.json()["enabled_by"]) == (False, None)
    assert HomeAssistantLink.objects.get(household=alices).enabled is False


def test_a_member_turns_on_a_household_named_in_the_query_and_takes_the_link_over(alice: User, bob: User) -> None:
    bobs = household_of(bob)
    member_add(bobs, alice, Role.MEMBER)
    assert put(bob, {"enabled": True}, f"?household={bobs.pk}").json()["enabled_by"] == bob.pk
    response = put(alice, {"enabled": True}, f"?household={bobs.pk}")
    assert response.status_code == 200
    assert response.json()["enabled_by"] == alice.pk  # turned on again: presses now act as her
    assert HomeAssistantLink.objects.get(household=bobs).enabled_by_id == alice.pk
    assert logged_in(alice).get(f"{URL}?household={bobs.pk}").json()["enabled"] is True


def test_a_viewer_sees_the_link_and_may_not_change_it(alice: User, bob: User) -> None:
    bobs = household_of(bob)
    member_add(bobs, alice, Role.VIEWER)
    read = logged_in(alice).get(f"{URL}?household={bobs.pk}")
    assert (read.status_code, read.json()["may_change"]) == (200, False)
    for enabled in (True, False):
        response = put(alice, {"enabled": enabled}, f"?household={bobs.pk}")
        assert response.status_code == 403
        assert response["Content-Type"] == "application/problem+json"
        assert response.json()["type"].endswith("role-forbidden")
    assert not HomeAssistantLink.objects.exists()


def test_a_household_not_mine_is_a_404_for_reading_and_writing(alice: User, charlie: User) -> None:
    alices = household_of(alice)
    household_of(charlie)
    assert logged_in(charlie).get(f"{URL}?household={alices.pk}").status_code == 404
    assert put(charlie, {"enabled": True}, f"?household={alices.pk}").status_code == 404
    assert not HomeAssistantLink.objects.exists()


def test_a_user_in_no_household_reads_a_404(charlie: User) -> None:
    assert logged_in(charlie).get(URL).status_code == 404


@pytest.mark.parametrize("query", ["?household=0", "?household=x", f"?household={2**63}"])
def test_a_household_id_no_row_has_is_a_422(alice: User, query: str) -> None:
    household_of(alice)
    assert logged_in(alice).get(f"{URL}{query}").status_code == 422
    assert put(alice, {"enabled": True}, query).status_code == 422
    assert not HomeAssistantLink.objects.exists()


@pytest.mark.parametrize("body", [{"enabled": "yes"}, {"enabled": True, "broker": "x"}, {}])
def test_a_bad_body_is_a_422(alice: User, body: dict[str, Any]) -> None:
    household_of(alice)
    assert put(alice, body).status_code == 422
    assert not HomeAssistantLink.objects.exists()


def test_it_needs_a_log_in() -> None:
    assert Client().get(URL).status_code == 401
    assert Client().put(URL, {"enabled": True}, content_type="application/json").status_code == 401
