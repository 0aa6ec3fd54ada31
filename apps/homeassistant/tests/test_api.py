"""/api/home-assistant: each owner turns their own link on or off."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from apps.accounts.models import User
from apps.homeassistant.models import HomeAssistantLink

pytestmark = pytest.mark.django_db


def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_an_owner_starts_off_and_reading_writes_nothing(alice: User, settings: Any) -> None:
    settings.MQTT_URL, settings.MQTT_TOPIC_PREFIX = "", "catfeeder"
    response = logged_in(alice).get("/api/home-assistant")
    assert response.status_code == 200
    assert response.json() == {
        "enabled": False,
        "broker_configured": False,
        "discovery_prefix": f"catfeeder/{alice.pk}",
        "availability_topic": "catfeeder/bridge/availability",
    }
    assert not HomeAssistantLink.objects.exists()


def test_a_put_turns_it_on_for_that_owner_only(alice: User, bob: User, settings: Any) -> None:
    settings.MQTT_URL = "mqtt://user:secret@broker.example.com:1883"
    response = logged_in(alice).put("/api/home-assistant", {"enabled": True}, content_type="application/json")
    assert response.status_code == 200
    assert response.json()["enabled"] is True
    assert response.json()["broker_configured"] is True
    assert "secret" not in response.content.decode()  # the broker's credentials stay on the server
    assert logged_in(bob).get("/api/home-assistant").json()["enabled"] is False
    response = logged_in(alice).put("/api/home-assistant", {"enabled": False}, content_type="application/json")
    assert response.json()["enabled"] is False
    assert HomeAssistantLink.objects.get(owner=alice).enabled is False


@pytest.mark.parametrize("body", [{"enabled": "yes"}, {"enabled": True, "broker": "x"}, {}])
def test_a_bad_body_is_a_422(alice: User, body: dict[str, Any]) -> None:
    response = logged_in(alice).put("/api/home-assistant", body, content_type="application/json")
    assert response.status_code == 422


def test_it_needs_a_log_in() -> None:
    assert Client().get("/api/home-assistant").status_code == 401
