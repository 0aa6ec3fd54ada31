"""Meal schedules: when a pet eats on which feeder. Turning due slots into commands is meals.py."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from apps.feeders import events
from apps.feeders.clock import next_slot
from apps.feeders.errors import InvalidReference
from apps.feeders.models import OPEN_COMMAND, CommandStatus, FeedCommand, Feeder, MealSchedule, Pet
from apps.feeders.services.access import feeder_access_check, feeder_lock
from apps.feeders.services.rows import fields_apply
from apps.feeders.services.schedule_sync import feeder_schedule_changed
from apps.infra.db import lock_or_404

SCHEDULE_FIELDS = frozenset({"times", "days_of_week", "grams", "time_zone", "enabled"})


def schedule_next_run(*, schedule: MealSchedule, after: dt.datetime) -> dt.datetime | None:
    if not schedule.enabled:
        return None
    times = [dt.time.fromisoformat(t) for t in schedule.times]
    return next_slot(after, tz=ZoneInfo(schedule.time_zone), times=times, days_of_week=set(schedule.days_of_week))


def schedule_create(
    *,
    pet: Pet,
    feeder: Feeder,
    times: list[str],
    days_of_week: list[int],
    grams: int,
    time_zone: str,
    enabled: bool = True,
    now: dt.datetime | None = None,
) -> MealSchedule:
    if feeder.household_id != pet.household_id:
        raise InvalidReference("feeder_id", "feeder")
    schedule = MealSchedule(
        pet=pet, feeder=feeder, times=times, days_of_week=days_of_week, grams=grams, time_zone=time_zone,
        enabled=enabled,
    )  # fmt: skip
    schedule.next_run_at = schedule_next_run(schedule=schedule, after=now or timezone.now())
    with transaction.atomic():
        feeder_lock(feeder=feeder)  # the pet is not being taken off the list meanwhile
        feeder_access_check(feeder=feeder, pet=pet, field="pet_id")
        schedule.save()
        feeder_schedule_changed(feeder_id=feeder.pk)
        events.catalog_changed(pet.household_id)
    return schedule


def schedule_update(*, schedule: MealSchedule, data: dict[str, Any], now: dt.datetime | None = None) -> MealSchedule:
    fields = fields_apply(schedule, data, SCHEDULE_FIELDS)
    with transaction.atomic():
        lock_or_404(schedule)  # deleted since it was read: a 404
        # Any change of when restarts from now: a slot already due is not replayed.
        schedule.next_run_at = schedule_next_run(schedule=schedule, after=now or timezone.now())
        schedule.save(update_fields=[*fields, "next_run_at"])
        if not schedule.enabled:
            schedule_commands_cancel(schedule=schedule, now=now)
        feeder_schedule_changed(feeder_id=schedule.feeder_id)
        events.catalog_changed(schedule.pet.household_id)
    return schedule


def schedule_delete(*, schedule: MealSchedule) -> None:
    with transaction.atomic():
        schedule_commands_cancel(schedule=schedule)
        feeder_id = schedule.feeder_id
        schedule.delete()
        feeder_schedule_changed(feeder_id=feeder_id)
        events.catalog_changed(schedule.pet.household_id)


def schedule_commands_cancel(*, schedule: MealSchedule, now: dt.datetime | None = None) -> int:
    """A disabled or deleted schedule feeds no more: its open commands close (a late result is ignored)."""
    with transaction.atomic():
        open_commands = list(FeedCommand.objects.select_for_update().filter(schedule=schedule, status__in=OPEN_COMMAND))
        for command in open_commands:
            command.status, command.error = CommandStatus.EXPIRED, "the schedule was disabled or deleted"
            command.completed_at = now or timezone.now()
            command.save(update_fields=["status", "error", "completed_at"])
            events.command_changed(command, household_id=schedule.feeder.household_id)
    return len(open_commands)
