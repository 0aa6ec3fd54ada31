"""Which pets may eat at which feeder: the rule (selectors.access) and every path that uses it."""

from __future__ import annotations

import pytest

from apps.accounts.models import User
from apps.feeders.errors import InvalidReference, PetNotAllowedAtFeeder, SchedulesInTheWay
from apps.feeders.models import FeedCommand, Feeder, FeederExclusion, FeedSource, MealSchedule, Pet, Visit
from apps.feeders.selectors.access import feeder_pets_allowed, pet_may_use_feeder
from apps.feeders.services.access import feeder_pets_set
from apps.feeders.services.commands import feed_command_create
from apps.feeders.services.pets import feeder_may_feed, pet_create
from apps.feeders.services.presence import visit_record
from apps.feeders.services.schedules import schedule_create, schedule_delete
from apps.feeders.tests.factories import BeaconFactory, FeederFactory, PetFactory, ScheduleFactory
from apps.households.tests.factories import household_of

pytestmark = pytest.mark.django_db


def meal(pet: Pet, feeder: Feeder) -> MealSchedule:
    return schedule_create(pet=pet, feeder=feeder, times=["07:30"], days_of_week=[1, 2, 3], grams=20, time_zone="UTC")


def test_by_default_every_pet_of_the_owner_may_eat_at_every_feeder(alice: User, bob: User) -> None:
    kitchen, tom, bobs_cat = FeederFactory(owner=alice), PetFactory(owner=alice), PetFactory(owner=bob)
    assert pet_may_use_feeder(pet=tom, feeder=kitchen)
    assert not pet_may_use_feeder(pet=bobs_cat, feeder=kitchen)
    assert list(feeder_pets_allowed(feeder=kitchen)) == [tom]


def test_a_new_pet_may_eat_at_every_feeder_and_a_new_feeder_admits_every_pet(alice: User) -> None:
    kitchen, tom, kit = FeederFactory(owner=alice), PetFactory(owner=alice, name="Tom"), PetFactory(owner=alice)
    feeder_pets_set(feeder=kitchen, pets=[tom])  # a restricted feeder
    newcomer = pet_create(household=household_of(alice), name="Newcomer")
    garden = FeederFactory(owner=alice)
    assert pet_may_use_feeder(pet=newcomer, feeder=kitchen)
    assert {p.pk for p in feeder_pets_allowed(feeder=garden)} == {tom.pk, kit.pk, newcomer.pk}
    assert not pet_may_use_feeder(pet=kit, feeder=kitchen)


def test_setting_the_list_keeps_the_others_off_and_setting_it_again_lets_them_back(alice: User) -> None:
    kitchen, tom, kit = FeederFactory(owner=alice), PetFactory(owner=alice), PetFactory(owner=alice)
    assert feeder_pets_set(feeder=kitchen, pets=[tom]) == [tom]
    assert feeder_pets_set(feeder=kitchen, pets=[tom]) == [tom]  # the same list twice: one row
    assert FeederExclusion.objects.get().pet == kit
    feeder_pets_set(feeder=kitchen, pets=[tom, kit])
    assert not FeederExclusion.objects.exists()
    assert pet_may_use_feeder(pet=kit, feeder=kitchen)


def test_a_pet_of_another_owner_in_the_list_is_refused_and_changes_nothing(alice: User, bob: User) -> None:
    kitchen, tom, bobs_cat = FeederFactory(owner=alice), PetFactory(owner=alice), PetFactory(owner=bob)
    with pytest.raises(InvalidReference):
        feeder_pets_set(feeder=kitchen, pets=[bobs_cat])
    assert not FeederExclusion.objects.exists()
    assert pet_may_use_feeder(pet=tom, feeder=kitchen)


def test_taking_a_pet_off_while_its_meals_are_scheduled_there_is_refused_with_the_schedules(alice: User) -> None:
    kitchen, garden = FeederFactory(owner=alice, name="Kitchen"), FeederFactory(owner=alice)
    tom, kit = PetFactory(owner=alice, name="Tom"), PetFactory(owner=alice, name="Kit")
    here = meal(kit, kitchen)
    paused = ScheduleFactory(pet=kit, feeder=kitchen, enabled=False, times=["18:00"])
    meal(kit, garden)  # elsewhere: not in the way
    with pytest.raises(SchedulesInTheWay) as refused:
        feeder_pets_set(feeder=kitchen, pets=[tom])
    assert refused.value.status == 409
    assert refused.value.schedule_ids == [here.pk, paused.pk]
    assert f"schedule {here.pk} (Kit, 07:30)" in refused.value.detail
    assert not FeederExclusion.objects.exists()
    schedule_delete(schedule=here)
    schedule_delete(schedule=paused)
    assert feeder_pets_set(feeder=kitchen, pets=[tom]) == [tom]


def test_a_meal_for_a_pet_kept_off_the_feeder_is_refused_when_saved(alice: User) -> None:
    kitchen, tom, kit = FeederFactory(owner=alice, name="Kitchen"), PetFactory(owner=alice), PetFactory(owner=alice)
    feeder_pets_set(feeder=kitchen, pets=[tom])
    with pytest.raises(PetNotAllowedAtFeeder) as refused:
        meal(kit, kitchen)
    assert refused.value.status == 422
    assert refused.value.errors == [
        {"loc": ["body", "pet_id"], "msg": f"{kit.name} may not eat at Kitchen", "type": "not_allowed_at_feeder"}
    ]
    assert not MealSchedule.objects.exists()
    assert meal(tom, kitchen).pk


def test_feed_now_for_a_pet_kept_off_the_feeder_is_refused_and_orders_nothing(alice: User) -> None:
    kitchen, tom, kit = FeederFactory(owner=alice), PetFactory(owner=alice), PetFactory(owner=alice)
    feeder_pets_set(feeder=kitchen, pets=[tom])
    with pytest.raises(PetNotAllowedAtFeeder):
        feed_command_create(feeder=kitchen, pet=kit, grams=10, source=FeedSource.OWNER)
    assert not FeedCommand.objects.exists()
    feed_command_create(feeder=kitchen, grams=10, source=FeedSource.OWNER)  # no pet named: the feeder's own
    feed_command_create(feeder=kitchen, pet=tom, grams=10, source=FeedSource.OWNER)
    assert FeedCommand.objects.count() == 2


def test_may_feed_refuses_a_pet_kept_off_the_feeder_with_its_reason_and_the_visit_is_kept(alice: User) -> None:
    kitchen, garden = FeederFactory(owner=alice), FeederFactory(owner=alice)
    kit = PetFactory(owner=alice, beacon=BeaconFactory(owner=alice), allowance_grams=100)
    feeder_pets_set(feeder=kitchen, pets=[])
    visit_record(feeder=kitchen, beacon_mac=kit.beacon.mac)
    pet, decision = feeder_may_feed(feeder=kitchen, beacon_mac=kit.beacon.mac, grams=10)
    assert pet == kit
    assert decision is not None
    assert (decision.allowed, decision.grams, decision.reason, decision.remaining_grams) == (
        False, 0, "not_allowed_at_feeder", 100,
    )  # fmt: skip
    assert Visit.objects.get(feeder=kitchen).pet == kit
    _, elsewhere = feeder_may_feed(feeder=garden, beacon_mac=kit.beacon.mac, grams=10)
    assert elsewhere is not None
    assert (elsewhere.allowed, elsewhere.reason) == (True, None)
    _, too_much = feeder_may_feed(feeder=garden, beacon_mac=kit.beacon.mac, grams=101)
    assert too_much is not None
    assert (too_much.allowed, too_much.reason) == (False, "allowance_exceeded")


def test_deleting_a_pet_or_a_feeder_takes_its_exclusions_along(alice: User) -> None:
    kitchen, tom, kit = FeederFactory(owner=alice), PetFactory(owner=alice), PetFactory(owner=alice)
    feeder_pets_set(feeder=kitchen, pets=[tom])
    kit.delete()
    assert not FeederExclusion.objects.exists()
    feeder_pets_set(feeder=kitchen, pets=[])
    kitchen.delete()
    assert not FeederExclusion.objects.exists()
