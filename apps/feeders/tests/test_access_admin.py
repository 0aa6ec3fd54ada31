"""The admin shows which pets are kept off a feeder, and lets an operator let one back."""

from __future__ import annotations

import pytest
from django.test import Client

from apps.accounts.models import User
from apps.feeders.models import FeederExclusion
from apps.feeders.services.access import feeder_pets_set
from apps.feeders.tests.factories import FeederFactory, PetFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator(db: None) -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser(email="ops@example.com", password="not-used-here-9"))
    return client


def test_the_feeder_page_lists_the_pets_kept_off_and_an_operator_lets_one_back(operator: Client, alice: User) -> None:
    kitchen = FeederFactory(owner=alice, name="Kitchen")
    PetFactory(owner=alice, name="Miso")
    feeder_pets_set(feeder=kitchen, pets=[])
    exclusion = FeederExclusion.objects.get()
    page = operator.get(f"/admin/feeders/feeder/{kitchen.pk}/change/").content.decode()
    assert "Pets kept off this feeder" in page
    assert "Miso" in page

    prefix = "exclusions"
    form = {
        "name": kitchen.name, "mac": kitchen.mac, "household": kitchen.household_id, "time_zone": "UTC",
        f"{prefix}-TOTAL_FORMS": 1, f"{prefix}-INITIAL_FORMS": 1, f"{prefix}-MIN_NUM_FORMS": 0,
        f"{prefix}-MAX_NUM_FORMS": 0, f"{prefix}-0-id": exclusion.pk, f"{prefix}-0-feeder": kitchen.pk,
        f"{prefix}-0-DELETE": "on",
    }  # fmt: skip
    response = operator.post(f"/admin/feeders/feeder/{kitchen.pk}/change/", form)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert not FeederExclusion.objects.exists()
