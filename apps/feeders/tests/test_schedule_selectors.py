"""Which pets a meal schedule feeds: they do not also eat at each visit to the bowl."""

from __future__ import annotations

import pytest

from apps.accounts.models import User
from apps.feeders.selectors.schedules import schedule_feeds_collar
from apps.feeders.services import schedules as schedule_services
from apps.feeders.tests.factories import BeaconFactory, FeederFactory, PetFactory

pytestmark = pytest.mark.django_db


def test_only_an_enabled_schedule_of_the_feeders_owner_feeds_the_pet_wearing_the_tag(alice: User, bob: User) -> None:
    feeder, beacon = FeederFactory(owner=alice), BeaconFactory(owner=alice)
    pet = PetFactory(owner=alice, beacon=beacon)
    assert not schedule_feeds_collar(feeder_id=feeder.pk, beacon_mac=beacon.mac)
    schedule = schedule_services.schedule_create(
        pet=pet, feeder=feeder, times=["07:00"], days_of_week=[1], grams=20, time_zone="Europe/Paris", enabled=False
    )
    assert not schedule_feeds_collar(feeder_id=feeder.pk, beacon_mac=beacon.mac)
    schedule_services.schedule_update(schedule=schedule, data={"enabled": True})
    assert schedule_feeds_collar(feeder_id=feeder.pk, beacon_mac=beacon.mac)
    # bob's feeder sees the same tag: not his pet, so not his schedule
    assert not schedule_feeds_collar(feeder_id=FeederFactory(owner=bob).pk, beacon_mac=beacon.mac)
