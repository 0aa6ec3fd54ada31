"""A device's clock: measured at Hello and Heartbeat, applied to the times it reports (real database)."""

from __future__ import annotations

import datetime as dt

import pytest

from apps.feeders.models import Feeder, FeedEvent, Pet
from apps.feeders.services import pets as pet_services
from apps.feeders.services import presence as presence_services
from apps.feeders.tests.factories import BeaconFactory, owner_of
from apps.feeders.tests.test_offline_meals import SLOT, UTC, local_meal, served

pytestmark = pytest.mark.django_db


def test_a_device_clock_ahead_is_corrected_by_the_offset_measured_at_hello() -> None:
    meal = local_meal()
    presence_services.feeder_hello(
        feeder=meal.feeder, firmware="1", ip=None, capabilities=["local_schedule", "teleport"],
        device_time=SLOT + dt.timedelta(hours=2, seconds=120), now=SLOT + dt.timedelta(hours=2),
    )  # fmt: skip
    meal.feeder.refresh_from_db()
    assert (meal.feeder.local_schedule, meal.feeder.clock_offset) == (True, 120.0)
    served(meal, fed_at=SLOT + dt.timedelta(seconds=180), now=SLOT + dt.timedelta(hours=2))
    assert FeedEvent.objects.get().fed_at == SLOT + dt.timedelta(seconds=60)


def test_a_clock_too_far_out_is_recorded_as_untrusted_at_the_slots_time() -> None:
    meal = local_meal()
    Feeder.objects.filter(pk=meal.feeder_id).update(clock_offset=-56 * 365 * 86400.0)  # back in 1970
    served(meal, fed_at=dt.datetime(1970, 1, 1, 0, 1, tzinfo=UTC), now=SLOT + dt.timedelta(hours=2))
    event = FeedEvent.objects.get()
    assert (event.fed_at, event.clock_untrusted) == (SLOT, True)


@pytest.mark.parametrize("reported", [dt.datetime.min.replace(tzinfo=UTC), dt.datetime.max.replace(tzinfo=UTC)])
def test_a_time_at_the_ends_of_the_calendar_is_recorded_as_untrusted_not_an_error(reported: dt.datetime) -> None:
    meal = local_meal()
    offset = 200.0 if reported.year == 1 else -200.0  # moved by it, the time falls off the calendar
    Feeder.objects.filter(pk=meal.feeder_id).update(clock_offset=offset)
    served(meal, fed_at=reported, now=SLOT + dt.timedelta(hours=2))
    assert FeedEvent.objects.get().clock_untrusted


def test_visits_and_feedings_queued_offline_are_recorded_at_their_corrected_time() -> None:
    meal = local_meal()
    beacon = BeaconFactory(owner=owner_of(meal.pet))
    Pet.objects.filter(pk=meal.pet_id).update(beacon=beacon)
    Feeder.objects.filter(pk=meal.feeder_id).update(clock_offset=30.0)  # its clock is 30 s ahead
    meal.feeder.refresh_from_db()
    now = SLOT + dt.timedelta(hours=1)
    visit = presence_services.visit_record(
        feeder=meal.feeder, beacon_mac=beacon.mac, seen_at=SLOT + dt.timedelta(seconds=30), now=now
    )
    fed = pet_services.feeder_fed(
        feeder=meal.feeder, beacon_mac=beacon.mac, grams=5, event_id="snack", fed_at=SLOT + dt.timedelta(seconds=40),
        offline=True, now=now,
    )  # fmt: skip
    assert (visit.seen_at, fed.fed_at, fed.offline) == (SLOT, SLOT + dt.timedelta(seconds=10), True)


def test_a_heartbeat_measures_the_clock_again(settings: object) -> None:
    meal = local_meal()
    presence_services.feeder_heartbeat(
        feeder=meal.feeder, food_level_percent=50, signal_dbm=None, device_time=SLOT - dt.timedelta(seconds=5),
        now=SLOT,
    )  # fmt: skip
    meal.feeder.refresh_from_db()
    assert (meal.feeder.clock_offset, meal.feeder.reported_at) == (-5.0, SLOT)
