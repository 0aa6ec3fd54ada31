"""The pages' forms refuse what the database would, next to the field, and change nothing."""

from __future__ import annotations

import pytest

from apps.accounts.models import User
from apps.feeders.models import Pet
from apps.web.tests.test_pages import client_for, field_error

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("breed", ["Maine\x00Coon", "Maine\x1bCoon"])
def test_a_control_character_in_a_pet_form_is_refused_next_to_the_field(alice: User, breed: str) -> None:
    data = {"name": "Tofu", "breed": breed, "allowance_grams": 60, "period_minutes": 1440, "period_anchor": "00:00",
            "time_zone": "UTC"}  # fmt: skip
    response = client_for(alice).post("/pets/new/", data)
    assert response.status_code == 422
    assert field_error(response.content.decode(), "breed", "Control characters are not allowed")
    assert not Pet.objects.exists()


@pytest.mark.parametrize(("query", "field"), [({"until": "9999-12-31"}, "until"), ({"since": "0001-01-01"}, "since")])
def test_a_history_day_at_the_end_of_the_calendar_is_refused_next_to_the_field(
    alice: User, query: dict[str, str], field: str
) -> None:
    alice.time_zone = "Pacific/Kiritimati"  # UTC+14: local midnight of day one is in year 0 in UTC
    alice.save()
    response = client_for(alice).get("/history/", query)
    assert response.status_code == 200  # a filter, shown again with its error
    assert field_error(response.content.decode(), field, "Give a day")
