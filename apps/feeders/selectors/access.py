"""Which pets may eat at which feeder: THE access rule, for MayFeed, meal schedules and feed now."""

from __future__ import annotations

from django.db.models import QuerySet

from apps.feeders.models import Feeder, FeederExclusion, MealSchedule, Pet


def pet_may_use_feeder(*, pet: Pet, feeder: Feeder) -> bool:
    """Whether the pet may eat at the feeder: one household, and the pet is not kept off it."""
    if pet.household_id != feeder.household_id:
        return False
    return not FeederExclusion.objects.filter(feeder=feeder, pet=pet).exists()


def feeder_pets_allowed(*, feeder: Feeder) -> QuerySet[Pet]:
    """The pets of the feeder's household that may eat there: every one not kept off it."""
    return Pet.objects.filter(household_id=feeder.household_id).exclude(exclusions__feeder=feeder)


def feeder_schedules_of(*, feeder: Feeder, pets: list[Pet]) -> QuerySet[MealSchedule]:
    """The meal schedules (enabled or not) that feed these pets at this feeder."""
    return MealSchedule.objects.filter(feeder=feeder, pet__in=pets).select_related("pet").order_by("pet__name", "id")
