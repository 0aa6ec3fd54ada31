"""Writes. The allowance is enforced here, in `pet_feed`, whoever asks."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django.db import IntegrityError, models, transaction
from django.utils import timezone

from apps.accounts.models import User
from apps.feeders.clock import next_slot
from apps.feeders.errors import AllowanceExceeded, Conflict, InvalidReference
from apps.feeders.models import Beacon, FeedCommand, Feeder, FeedEvent, FeedSource, MealSchedule, Pet
from apps.feeders.selectors import pet_allowance

FEEDER_FIELDS = frozenset({"name", "mac", "latitude", "longitude", "city", "country", "time_zone"})
BEACON_FIELDS = frozenset({"name", "mac"})
PET_FIELDS = frozenset(
    {"name", "beacon", "breed", "birth_date", "weight_grams", "microchip_id", "allowance_grams",
     "period_minutes", "period_anchor", "time_zone"}
)  # fmt: skip
SCHEDULE_FIELDS = frozenset({"times", "days_of_week", "grams", "time_zone", "enabled"})


def _save(instance: models.Model, *, conflict: str, update_fields: list[str] | None = None) -> None:
    """Save, turning a uniqueness violation into a 409 that says what clashed."""
    try:
        with transaction.atomic():
            instance.save(update_fields=update_fields)
    except IntegrityError as exc:
        raise Conflict(conflict) from exc


def _apply(instance: models.Model, data: dict[str, Any], allowed: frozenset[str]) -> list[str]:
    unknown = set(data) - allowed
    if unknown:
        raise ValueError(f"not editable: {', '.join(sorted(unknown))}")
    for name, value in data.items():
        setattr(instance, name, value)
    return [*data, "updated_at"]


# -- feeders and beacons ----------------------------------------------------------
def feeder_create(*, owner: User, name: str, mac: str, **fields: Any) -> Feeder:
    feeder = Feeder(owner=owner, name=name, mac=mac)
    _apply(feeder, fields, FEEDER_FIELDS)
    _save(feeder, conflict=f"You already have a feeder with MAC address {mac}.")
    return feeder


def feeder_update(*, feeder: Feeder, data: dict[str, Any]) -> Feeder:
    fields = _apply(feeder, data, FEEDER_FIELDS)
    _save(feeder, conflict=f"You already have a feeder with MAC address {feeder.mac}.", update_fields=fields)
    return feeder


def feeder_delete(*, feeder: Feeder) -> None:
    feeder.delete()


def beacon_create(*, owner: User, name: str, mac: str) -> Beacon:
    beacon = Beacon(owner=owner, name=name, mac=mac)
    _save(beacon, conflict=f"You already have a collar tag with MAC address {mac}.")
    return beacon


def beacon_update(*, beacon: Beacon, data: dict[str, Any]) -> Beacon:
    fields = _apply(beacon, data, BEACON_FIELDS)
    _save(beacon, conflict=f"You already have a collar tag with MAC address {beacon.mac}.", update_fields=fields)
    return beacon


def beacon_delete(*, beacon: Beacon) -> None:
    beacon.delete()  # the pet that wore it keeps its history and loses only the tag


# -- pets ----------------------------------------------------------------------------
def _check_beacon(pet: Pet) -> None:
    if pet.beacon is not None and pet.beacon.owner_id != pet.owner_id:
        raise InvalidReference("beacon_id", "collar tag")


def pet_create(*, owner: User, name: str, **fields: Any) -> Pet:
    pet = Pet(owner=owner, name=name)
    _apply(pet, fields, PET_FIELDS)
    _check_beacon(pet)
    _save(pet, conflict="That collar tag is already worn by another pet.")
    return pet


def pet_update(*, pet: Pet, data: dict[str, Any]) -> Pet:
    fields = _apply(pet, data, PET_FIELDS)
    _check_beacon(pet)
    _save(pet, conflict="That collar tag is already worn by another pet.", update_fields=fields)
    return pet


def pet_delete(*, pet: Pet) -> None:
    pet.delete()


# -- meal schedules ---------------------------------------------------------------
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
    if feeder.owner_id != pet.owner_id:
        raise InvalidReference("feeder_id", "feeder")
    schedule = MealSchedule(
        pet=pet, feeder=feeder, times=times, days_of_week=days_of_week, grams=grams, time_zone=time_zone,
        enabled=enabled,
    )  # fmt: skip
    schedule.next_run_at = schedule_next_run(schedule=schedule, after=now or timezone.now())
    schedule.save()
    return schedule


def schedule_update(*, schedule: MealSchedule, data: dict[str, Any], now: dt.datetime | None = None) -> MealSchedule:
    fields = _apply(schedule, data, SCHEDULE_FIELDS)
    # Any change of when restarts from now: a slot already due is not replayed.
    schedule.next_run_at = schedule_next_run(schedule=schedule, after=now or timezone.now())
    schedule.save(update_fields=[*fields, "next_run_at"])
    return schedule


def schedule_delete(*, schedule: MealSchedule) -> None:
    schedule.delete()


# -- feeding ----------------------------------------------------------------------
@dataclass(frozen=True)
class FeedDecision:
    allowed: bool
    grams: int  # how much may be dispensed now
    eaten_grams: int
    remaining_grams: int
    period_end: dt.datetime


def pet_may_feed(*, pet: Pet, grams: int | None = None, now: dt.datetime | None = None) -> FeedDecision:
    """Whether `grams` (or anything, when None) may be dispensed to the pet now."""
    allowance = pet_allowance(pet=pet, now=now)
    wanted = allowance.remaining_grams if grams is None else grams
    allowed = 0 < wanted <= allowance.remaining_grams
    return FeedDecision(
        allowed=allowed,
        grams=wanted if allowed else 0,
        eaten_grams=allowance.eaten_grams,
        remaining_grams=allowance.remaining_grams,
        period_end=allowance.period_end,
    )


def pet_feed(
    *,
    pet: Pet,
    feeder: Feeder,
    grams: int,
    source: FeedSource,
    event_id: str | None = None,
    command: FeedCommand | None = None,
    at: dt.datetime | None = None,
) -> FeedEvent:
    """Record food given to a pet, within its allowance; never capped silently.

    The pet row is locked for the whole check-and-insert, so concurrent feeds
    of one pet (two feeders, a schedule and an owner) queue up behind each
    other and their total cannot exceed the allowance. A repeated `event_id`
    from the same feeder returns the first event and changes nothing.
    """
    if feeder.owner_id != pet.owner_id:
        raise InvalidReference("feeder_id", "feeder")
    at = at or timezone.now()
    with transaction.atomic():
        locked = Pet.objects.select_for_update().get(pk=pet.pk)
        if event_id is not None:
            repeated = FeedEvent.objects.filter(feeder=feeder, event_id=event_id).first()
            if repeated is not None:
                return repeated
        allowance = pet_allowance(pet=locked, now=at)
        if grams > allowance.remaining_grams:
            raise AllowanceExceeded(
                pet_name=locked.name, grams=grams, eaten=allowance.eaten_grams,
                allowance=allowance.allowance_grams, period_end=allowance.period_end,
            )  # fmt: skip
        return FeedEvent.objects.create(
            pet=locked, feeder=feeder, grams=grams, source=source, event_id=event_id, command=command, fed_at=at
        )


def feed_command_create(
    *, feeder: Feeder, grams: int, source: FeedSource, pet: Pet | None = None, now: dt.datetime | None = None
) -> FeedCommand:
    """Order a feeder to dispense ("feed now"). The allowance is checked now and
    again when the device reports what it dispensed."""
    if pet is not None:
        if pet.owner_id != feeder.owner_id:
            raise InvalidReference("pet_id", "pet")
        decision = pet_may_feed(pet=pet, grams=grams, now=now)
        if not decision.allowed:
            allowance = pet_allowance(pet=pet, now=now)
            raise AllowanceExceeded(
                pet_name=pet.name, grams=grams, eaten=allowance.eaten_grams,
                allowance=allowance.allowance_grams, period_end=allowance.period_end,
            )  # fmt: skip
    return FeedCommand.objects.create(feeder=feeder, pet=pet, grams=grams, source=source)
