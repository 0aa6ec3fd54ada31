"""A feeder's access list: which of its owner's pets may eat there (the rule is selectors.access)."""

from __future__ import annotations

from django.db import transaction

from apps.feeders import events
from apps.feeders.errors import InvalidReference, PetNotAllowedAtFeeder, SchedulesInTheWay
from apps.feeders.models import Feeder, FeederExclusion, Pet
from apps.feeders.selectors.access import feeder_pets_allowed, feeder_schedules_of, pet_may_use_feeder


def feeder_access_check(*, feeder: Feeder, pet: Pet, field: str) -> None:
    """Refuse (422 on `field`) a pet that may not eat at the feeder. Call it where the feeder row is locked."""
    if not pet_may_use_feeder(pet=pet, feeder=feeder):
        raise PetNotAllowedAtFeeder(field=field, pet_name=pet.name, feeder_name=feeder.name)


def feeder_lock(*, feeder: Feeder) -> None:
    """Hold the feeder row until the transaction ends.

    A schedule saved while its pet is being taken off the list would slip between the
    two checks; both take this lock first, so the second one sees the first's rows.
    """
    Feeder.objects.select_for_update().filter(pk=feeder.pk).exists()


def feeder_pets_set(*, feeder: Feeder, pets: list[Pet]) -> list[Pet]:
    """Make `pets` the feeder's access list: every other pet of the household is kept off it.

    All or nothing: a pet of someone else is a 422, and a pet taken off the list
    while a meal schedule (enabled or paused) feeds it here is a 409 that lists
    those schedules; in both cases nothing changes. A pet added later is allowed.
    """
    if any(pet.household_id != feeder.household_id for pet in pets):
        raise InvalidReference("pet_ids", "pet")
    keep = {pet.pk for pet in pets}
    with transaction.atomic():
        feeder_lock(feeder=feeder)
        off = list(Pet.objects.filter(household_id=feeder.household_id).exclude(pk__in=keep))
        scheduled = [(s.pk, s.pet.name, s.times) for s in feeder_schedules_of(feeder=feeder, pets=off)]
        if scheduled:
            raise SchedulesInTheWay(feeder_name=feeder.name, schedules=scheduled)
        FeederExclusion.objects.filter(feeder=feeder, pet_id__in=keep).delete()
        have = set(FeederExclusion.objects.filter(feeder=feeder).values_list("pet_id", flat=True))
        added = [FeederExclusion(feeder=feeder, pet=pet) for pet in off if pet.pk not in have]
        FeederExclusion.objects.bulk_create(added)
        events.catalog_changed(feeder.household_id)
    return list(feeder_pets_allowed(feeder=feeder))
