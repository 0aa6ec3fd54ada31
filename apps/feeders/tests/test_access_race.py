"""A schedule saved while its pet is being taken off the feeder's list: one of the two is refused.

Each writer holds its transaction open until the other has started, so on
PostgreSQL neither would see the other's rows without the feeder lock both take.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from django.db import connection, transaction

from apps.api.problems import Problem
from apps.feeders.models import Feeder, FeederExclusion, MealSchedule, Pet
from apps.feeders.services.access import feeder_pets_set
from apps.feeders.services.schedules import schedule_create
from apps.feeders.tests.factories import FeederFactory, PetFactory

pytestmark = pytest.mark.django_db(transaction=True)


def keep_off(feeder: Feeder, pet: Pet) -> None:
    feeder_pets_set(feeder=feeder, pets=list(Pet.objects.filter(household_id=feeder.household_id).exclude(pk=pet.pk)))


def schedule(feeder: Feeder, pet: Pet) -> None:
    schedule_create(pet=pet, feeder=feeder, times=["07:00"], days_of_week=[1], grams=10, time_zone="UTC")


def race(first: Callable[[], None], second: Callable[[], None]) -> list[str]:
    held, release, outcomes = threading.Event(), threading.Event(), []

    def run_first() -> None:
        try:
            with transaction.atomic():  # its rows stay uncommitted until the second has started
                first()
                held.set()
                release.wait(30)
            outcomes.append("first done")
        finally:
            held.set()
            connection.close()

    def run_second() -> None:
        try:
            second()
            outcomes.append("second done")
        except Problem as exc:
            outcomes.append(f"second refused {exc.status}")
        finally:
            connection.close()

    threads = [threading.Thread(target=run_first), threading.Thread(target=run_second)]
    threads[0].start()
    held.wait(30)
    threads[1].start()
    time.sleep(0.5)  # lets the second reach the lock; were it later, it would only see committed rows
    release.set()
    for thread in threads:
        thread.join(60)
    return outcomes


def test_a_schedule_saved_while_its_pet_is_taken_off_is_refused() -> None:
    kitchen = FeederFactory()
    kit, tom = PetFactory(household=kitchen.household), PetFactory(household=kitchen.household)
    outcomes = race(lambda: keep_off(kitchen, kit), lambda: schedule(kitchen, kit))
    assert sorted(outcomes) == ["first done", "second refused 422"]
    assert not MealSchedule.objects.exists()
    assert FeederExclusion.objects.get().pet == kit
    schedule(kitchen, tom)


def test_a_pet_taken_off_while_its_schedule_is_saved_is_refused() -> None:
    kitchen = FeederFactory()
    kit = PetFactory(household=kitchen.household)
    outcomes = race(lambda: schedule(kitchen, kit), lambda: keep_off(kitchen, kit))
    assert sorted(outcomes) == ["first done", "second refused 409"]
    assert MealSchedule.objects.get().pet == kit
    assert not FeederExclusion.objects.exists()
