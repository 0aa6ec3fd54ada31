"""Uploads recorded together (a fleet back from an outage) follow the rules of one upload each."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction
from django.test import TestCase

from apps.feeders.errors import InvalidReference
from apps.feeders.models import CommandStatus, FeedCommand, Feeder, FeedEvent, MealSchedule
from apps.feeders.services import offline as offline_services
from apps.feeders.services.slots_fed import SlotFed, slots_fed_write
from apps.feeders.slots import slot_parse
from apps.feeders.tests.factories import owner_of
from apps.feeders.tests.test_offline_meals import MONDAY, SLOT, dispatch, local_meal
from apps.notifications.models import Alert, AlertKind

pytestmark = pytest.mark.django_db

NOW = MONDAY.replace(hour=13, minute=30)


def upload(meal_feeder: Feeder, key: str, event_id: str, hour: int) -> SlotFed:
    ref = slot_parse(key)
    assert ref is not None
    fed_at = MONDAY.replace(hour=hour, minute=1)
    return SlotFed(feeder=meal_feeder, ref=ref, grams=20, event_id=event_id, fed_at=fed_at, now=NOW)


def test_one_batch_keeps_each_pets_allowance_in_order_repeats_nothing_and_refuses_a_stranger() -> None:
    twice = local_meal(allowance=30, times=["09:00", "12:00"])  # room for one of its two meals
    once = local_meal(times=["09:00"])
    dispatched = local_meal(times=["07:30"])
    dispatch(SLOT)  # its feeder offline: the command waits, promised against the allowance
    Alert.objects.create(owner=owner_of(dispatched.pet), kind=AlertKind.MEAL_MISSED,
                         key=f"schedule:{dispatched.pk}", subject="missed", opened_at=SLOT)  # fmt: skip
    batch = [
        upload(twice.feeder, f"{twice.pk}.0@2026-11-16", "a0", 9),
        upload(once.feeder, f"{once.pk}.0@2026-11-16", "b0", 9),
        upload(twice.feeder, f"{twice.pk}.1@2026-11-16", "a1", 12),  # the same pet: after the first
        upload(once.feeder, f"{once.pk}.0@2026-11-16", "b0", 9),  # sent again on another socket
        upload(twice.feeder, f"{once.pk}.0@2026-11-16", "x", 9),  # another feeder's slot
        upload(dispatched.feeder, f"{dispatched.pk}.0@2026-11-16", "c0", 7),
    ]
    with TestCase.captureOnCommitCallbacks(execute=True), transaction.atomic():
        results = slots_fed_write(batch)

    assert isinstance(results[4], InvalidReference)
    first, counted, over, again, _, answered = results
    assert isinstance(first, FeedCommand)
    assert isinstance(over, FeedCommand)
    assert isinstance(answered, FeedCommand)
    assert counted == again  # one row for the slot, recorded once
    assert {c.status for c in (first, counted, over, answered)} == {CommandStatus.DONE}
    assert over.error.startswith(f"{twice.pet.name} may not eat 20 g now")  # dispensed, not counted
    events = FeedEvent.objects.order_by("fed_at")
    assert [(e.command_id, e.offline) for e in events] == [(answered.pk, True), (first.pk, True), (counted.pk, True)]
    assert FeedCommand.objects.count() == 4  # the dispatched slot answered, not written twice
    untold = dict(Feeder.objects.values_list("pk", "local_meals_untold"))
    assert (untold[twice.feeder_id], untold[once.feeder_id], untold[dispatched.feeder_id]) == (2, 1, 1)
    assert not Alert.objects.filter(closed_at__isnull=True).exists()  # the slot was served after all


@pytest.mark.django_db(transaction=True)
def test_uploads_from_many_threads_at_once_are_each_recorded_once() -> None:
    meals = [local_meal(times=["09:00"]) for _ in range(8)]
    errors: list[BaseException] = []

    def send(n: int) -> None:
        meal = meals[n % len(meals)]  # every slot from two threads: one row, one feeding
        try:
            offline_services.feeder_slot_fed(
                feeder=meal.feeder, slot=f"{meal.pk}.0@2026-11-16", grams=20, event_id="e", fed_at=None, now=NOW
            )
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()  # this thread's own: the test database is dropped at the end

    threads = [threading.Thread(target=send, args=(n,)) for n in range(2 * len(meals))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert FeedCommand.objects.filter(status=CommandStatus.DONE).count() == len(meals)
    assert FeedEvent.objects.count() == len(meals)
    assert set(Feeder.objects.values_list("local_meals_untold", flat=True)) == {1}
    assert set(FeedEvent.objects.values_list("fed_at", flat=True)) == {NOW}  # no clock time: the upload's


def test_a_slot_whose_meal_falls_outside_the_calendar_is_an_invalid_reference_and_writes_nothing() -> None:
    meal = local_meal(times=["07:30"])
    MealSchedule.objects.filter(pk=meal.pk).update(time_zone="Asia/Tokyo")  # year 1's 07:30 there is year 0 in UTC
    with pytest.raises(InvalidReference):
        offline_services.feeder_slot_fed(
            feeder=meal.feeder, slot=f"{meal.pk}.0@0001-01-01", grams=20, event_id="e", fed_at=None, now=NOW
        )
    assert not FeedCommand.objects.exists()
    assert not FeedEvent.objects.exists()
