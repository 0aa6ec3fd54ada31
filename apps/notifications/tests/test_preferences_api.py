"""/api/me/alerts: an owner chooses which alert mails they get."""

from __future__ import annotations

import pytest
from django.test import Client

from apps.accounts.models import User
from apps.notifications.models import AlertPreference

pytestmark = pytest.mark.django_db

EVERY_ALERT = {
    "feeder_offline": True,
    "meal_missed": True,
    "allowance_reached": True,
    "low_food": True,
    "command_failed": True,
}


def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_an_owner_without_choices_gets_every_alert(alice: User) -> None:
    response = logged_in(alice).get("/api/me/alerts")
    assert response.status_code == 200
    assert response.json() == EVERY_ALERT
    assert not AlertPreference.objects.exists()  # reading writes nothing


def test_a_patch_changes_only_the_fields_it_names_and_only_for_its_owner(alice: User, bob: User) -> None:
    response = logged_in(alice).patch("/api/me/alerts", {"low_food": False}, content_type="application/json")
    assert response.status_code == 200
    assert response.json() == {**EVERY_ALERT, "low_food": False}
    assert logged_in(alice).get("/api/me/alerts").json() == {**EVERY_ALERT, "low_food": False}
    assert logged_in(bob).get("/api/me/alerts").json() == EVERY_ALERT
    assert AlertPreference.objects.get(owner=alice).wants("low_food") is False


@pytest.mark.parametrize("body", [{"low_food": "no"}, {"low_food": None}, {"low_food": 0}, {"sms": True}])
def test_bad_input_is_a_422_problem_and_changes_nothing(alice: User, body: dict[str, object]) -> None:
    response = logged_in(alice).patch("/api/me/alerts", body, content_type="application/json")
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    assert not AlertPreference.objects.exists()


def test_an_anonymous_caller_gets_401() -> None:
    assert Client().get("/api/me/alerts").status_code == 401
    assert Client().patch("/api/me/alerts", {}, content_type="application/json").status_code == 401
