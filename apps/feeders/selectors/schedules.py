"""Meal schedules."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from apps.accounts.models import User
from apps.feeders.models import Feeder, MealSchedule
from apps.households.roles import Role
from apps.households.selectors import member_of, row_role_require


def schedule_list(
    *,
    user: User,
    household: int | None = None,
    pet_id: int | None = None,
    feeder_id: int | None = None,
    enabled: bool | None = None,
) -> QuerySet[MealSchedule]:
    schedules = MealSchedule.objects.filter(member_of(user, path="pet__household"))
    if household is not None:
        schedules = schedules.filter(pet__household_id=household)
    if pet_id is not None:
        schedules = schedules.filter(pet_id=pet_id)
    if feeder_id is not None:
        schedules = schedules.filter(feeder_id=feeder_id)
    if enabled is not None:
        schedules = schedules.filter(enabled=enabled)
    return schedules


def schedule_get(*, user: User, schedule_id: int, role: Role = Role.VIEWER) -> MealSchedule:
    schedules = MealSchedule.objects.filter(member_of(user, path="pet__household")).select_related("pet")
    schedule = get_object_or_404(schedules, pk=schedule_id)
    row_role_require(user=user, household_id=schedule.pet.household_id, role=role)
    return schedule


def schedule_next_due() -> dt.datetime | None:
    """The earliest slot of any enabled schedule (the dispatcher's partial index: one row read)."""
    return (
        MealSchedule.objects.filter(enabled=True, next_run_at__isnull=False)
        .order_by("next_run_at")
        .values_list("next_run_at", flat=True)
        .first()
    )


def schedule_feeds_collar(*, feeder_id: int, beacon_mac: str) -> bool:
    """Whether an enabled meal schedule feeds the pet wearing this tag (a pet of the feeder's household).

    Such a pet gets its food at meal times: the bowl does not also open at each visit.
    """
    return MealSchedule.objects.filter(
        enabled=True, pet__beacon__mac=beacon_mac, pet__household__feeders__id=feeder_id
    ).exists()


def feeder_schedule(*, feeder_id: int) -> tuple[int, list[MealSchedule]] | None:
    """A feeder's schedule version and enabled meal schedules, if it keeps its schedule (else None)."""
    return feeders_schedule(feeder_ids=[feeder_id]).get(feeder_id)


def feeders_schedule(*, feeder_ids: Collection[int]) -> dict[int, tuple[int, list[MealSchedule]]]:
    """feeder_schedule of many feeders, by feeder: those that keep their schedule."""
    versions = dict(Feeder.objects.filter(pk__in=feeder_ids, local_schedule=True).values_list("pk", "schedule_version"))
    found: dict[int, tuple[int, list[MealSchedule]]] = {pk: (version, []) for pk, version in versions.items()}
    for schedule in MealSchedule.objects.filter(feeder_id__in=versions, enabled=True).order_by("pk"):
        found[schedule.feeder_id][1].append(schedule)
    return found
