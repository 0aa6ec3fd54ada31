"""The access list on a feeder's page: ticked pets may eat there; the others are refused."""

from __future__ import annotations

import pytest
from django.test import Client

from apps.accounts.models import User
from apps.feeders.models import FeederExclusion, MealSchedule
from apps.feeders.selectors.access import pet_may_use_feeder
from apps.feeders.tests.factories import FeederFactory, PetFactory, ScheduleFactory

pytestmark = pytest.mark.django_db


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def field_error(html: str, field: str, text: str) -> bool:
    start = html.find(f'data-field="{field}"')
    end = html.find('data-field="', start + 1)
    return start >= 0 and text in html[start : end if end > 0 else None]


def test_the_feeder_page_ticks_every_pet_until_the_owner_unticks_one(alice: User) -> None:
    kitchen = FeederFactory(owner=alice, name="Kitchen")
    miso, kit = PetFactory(owner=alice, name="Miso"), PetFactory(owner=alice, name="Kit")
    client = client_for(alice)
    html = client.get(f"/feeders/{kitchen.pk}/").content.decode()
    assert "Pets that may eat here" in html
    assert html.count('name="access-pet_ids"') == 2
    assert html.count("checked") >= 2

    response = client.post(f"/feeders/{kitchen.pk}/pets/", {"access-pet_ids": [miso.pk]})
    assert (response.status_code, response["Location"]) == (302, f"/feeders/{kitchen.pk}/")
    assert pet_may_use_feeder(pet=miso, feeder=kitchen)
    assert not pet_may_use_feeder(pet=kit, feeder=kitchen)
    assert client.post(f"/feeders/{kitchen.pk}/pets/", {}).status_code == 302  # nothing ticked: nobody
    assert FeederExclusion.objects.filter(feeder=kitchen).count() == 2


def test_unticking_a_pet_with_meals_here_is_refused_next_to_the_list(alice: User) -> None:
    kitchen, kit = FeederFactory(owner=alice, name="Kitchen"), PetFactory(owner=alice, name="Kit")
    schedule = ScheduleFactory(pet=kit, feeder=kitchen)
    response = client_for(alice).post(f"/feeders/{kitchen.pk}/pets/", {})
    assert response.status_code == 422
    assert field_error(response.content.decode(), "access-pet_ids", f"Schedule {schedule.pk} feeds Kit here")
    assert not FeederExclusion.objects.exists()


def test_another_owners_pet_is_an_invalid_choice_and_changes_nothing(alice: User, bob: User) -> None:
    kitchen, bobs_cat = FeederFactory(owner=alice), PetFactory(owner=bob)
    PetFactory(owner=alice)
    response = client_for(alice).post(f"/feeders/{kitchen.pk}/pets/", {"access-pet_ids": [bobs_cat.pk]})
    assert response.status_code == 422
    assert "Select a valid choice" in response.content.decode()
    assert not FeederExclusion.objects.exists()


def test_a_meal_for_an_unticked_pet_is_refused_next_to_the_pet(alice: User) -> None:
    kitchen, kit = FeederFactory(owner=alice, name="Kitchen"), PetFactory(owner=alice, name="Kit")
    PetFactory(owner=alice)
    client = client_for(alice)
    client.post(f"/feeders/{kitchen.pk}/pets/", {})
    data = {"new-pet": kit.pk, "new-feeder": kitchen.pk, "new-times": "08:00", "new-days_of_week": [1],
            "new-grams": 5, "new-enabled": "on"}  # fmt: skip
    response = client.post("/schedules/", data)
    assert response.status_code == 422
    assert field_error(response.content.decode(), "new-pet", "Kit may not eat at Kitchen")
    assert not MealSchedule.objects.exists()
