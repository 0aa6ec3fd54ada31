"""Pets and their food. Every feeding passes the pet's allowance (selectors.allowance) with
the pet row locked: `pet_allowance_hold`, whoever feeds (a device, a command, an owner)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone

from apps.feeders import events
from apps.feeders.errors import AllowanceExceeded, InvalidReference
from apps.feeders.models import OPEN_COMMAND, FeedCommand, Feeder, FeedEvent, FeedSource, MealSchedule, Pet, Visit
from apps.feeders.selectors.access import pet_may_use_feeder
from apps.feeders.selectors.allowance import Allowance, FeedDecision, pet_allowance, pet_may_feed
from apps.feeders.selectors.pets import pet_for_beacon
from apps.feeders.services.device_clock import device_time_correct
from apps.feeders.services.rows import fields_apply, row_save
from apps.feeders.services.schedule_sync import feeder_schedule_changed
from apps.households.models import Household
from apps.infra.db import write_transaction

PET_FIELDS = frozenset(
    {"name", "beacon", "breed", "birth_date", "weight_grams", "microchip_id", "allowance_grams",
     "period_minutes", "period_anchor", "time_zone"}
)  # fmt: skip


def _check_beacon(pet: Pet) -> None:
    if pet.beacon is not None and pet.beacon.household_id != pet.household_id:
        raise InvalidReference("beacon_id", "collar tag")


def pet_create(*, household: Household, name: str, **fields: Any) -> Pet:
    pet = Pet(household=household, name=name)
    fields_apply(pet, fields, PET_FIELDS)
    _check_beacon(pet)
    row_save(pet, conflict="That collar tag is already worn by another pet.")
    events.catalog_changed(household.pk)
    return pet


def pet_update(*, pet: Pet, data: dict[str, Any]) -> Pet:
    fields = fields_apply(pet, data, PET_FIELDS)
    _check_beacon(pet)
    row_save(pet, conflict="That collar tag is already worn by another pet.", update_fields=fields)
    events.catalog_changed(pet.household_id)
    return pet


def pet_delete(*, pet: Pet) -> None:
    with transaction.atomic():
        # Its schedules go with it: a feeder that keeps its schedule must not serve them on its own.
        feeder_ids = set(MealSchedule.objects.filter(pet=pet).values_list("feeder_id", flat=True))
        pet.delete()
        for feeder_id in sorted(feeder_ids):
            feeder_schedule_changed(feeder_id=feeder_id)
        events.catalog_changed(pet.household_id)


def pet_allowance_hold(*, pet: Pet, grams: int, at: dt.datetime, answering: FeedCommand | None = None) -> Pet:
    """Lock the pet row and check `grams` against its allowance; the locked pet, or AllowanceExceeded.

    Called inside the transaction that then writes the feeding or the command:
    every path that feeds a pet queues behind this lock, so none decides on a
    total another is about to change.
    """
    locked = Pet.objects.select_for_update().get(pk=pet.pk)
    allowance = pet_allowance(pet=locked, now=at, answering=answering)
    refusal = allowance_refusal(pet=locked, grams=grams, allowance=allowance)
    if refusal is not None:
        raise refusal
    return locked


def allowance_refusal(*, pet: Pet, grams: int, allowance: Allowance) -> AllowanceExceeded | None:
    """Why `grams` may not be fed against `allowance`, or None when they may."""
    if allowance.allows(grams):
        return None
    return AllowanceExceeded(
        pet_name=pet.name, grams=grams, eaten=allowance.eaten_grams, promised=allowance.promised_grams,
        allowance=allowance.allowance_grams, period_end=allowance.period_end, zone=pet.time_zone,
    )  # fmt: skip


def pet_feed(
    *,
    pet: Pet,
    feeder: Feeder,
    grams: int,
    source: FeedSource,
    event_id: str | None = None,
    command: FeedCommand | None = None,
    at: dt.datetime | None = None,
    offline: bool = False,
    clock_untrusted: bool = False,
) -> FeedEvent:
    """Record food given to a pet, within its allowance; never capped silently.

    The pet row is locked for the whole check-and-insert, so concurrent feeds
    of one pet (two feeders, a schedule and an owner) queue up behind each
    other and their total cannot exceed the allowance. A repeated `event_id`
    from the same feeder returns the first event and changes nothing.
    """
    if feeder.household_id != pet.household_id:
        raise InvalidReference("feeder_id", "feeder")
    at = at or timezone.now()
    with write_transaction():
        Pet.objects.select_for_update().get(pk=pet.pk)  # a repeated event, too, waits for the first
        if event_id is not None:
            repeated = FeedEvent.objects.filter(feeder=feeder, event_id=event_id).first()
            if repeated is not None:
                return repeated
        locked = pet_allowance_hold(pet=pet, grams=grams, at=at, answering=command)
        ordered_by = command.ordered_by if command is not None else None  # a device's own is nobody's
        return FeedEvent.objects.create(
            pet=locked, feeder=feeder, grams=grams, source=source, event_id=event_id, command=command, fed_at=at,
            ordered_by=ordered_by, offline=offline, clock_untrusted=clock_untrusted,
        )  # fmt: skip


def feeder_may_feed(
    *, feeder: Feeder, beacon_mac: str, grams: int | None, now: dt.datetime | None = None
) -> tuple[Pet | None, FeedDecision | None]:
    """The decision for the pet wearing the tag; (None, None) for a tag of nobody's.

    A pet kept off this feeder is refused whatever its allowance; the numbers are
    still its own, so the device can show them.
    """
    pet = pet_for_beacon(feeder=feeder, beacon_mac=beacon_mac)
    if pet is None:
        return None, None
    decision = pet_may_feed(pet=pet, grams=grams, now=now)
    if not pet_may_use_feeder(pet=pet, feeder=feeder):
        return pet, decision.refused("not_allowed_at_feeder")
    return pet, decision


def feeder_fed(
    *, feeder: Feeder, beacon_mac: str, grams: int, event_id: str, fed_at: dt.datetime | None = None,
    offline: bool = False, now: dt.datetime | None = None,
) -> FeedEvent:  # fmt: skip
    """The device dispensed food for the pet wearing the tag (a repeated event id is a no-op).

    `fed_at` is the device's own time of a feeding it reports late: corrected by its clock's offset.
    `offline`: it dispensed on its own, without asking (`Fed{local: true}`).
    """
    pet = pet_for_beacon(feeder=feeder, beacon_mac=beacon_mac)
    if pet is None:
        raise InvalidReference("beacon_mac", "collar tag")
    when = device_time_correct(feeder=feeder, reported=fed_at, now=now or timezone.now())
    with write_transaction():
        repeat = FeedEvent.objects.filter(feeder=feeder, event_id=event_id).exists()
        event = pet_feed(
            pet=pet, feeder=feeder, grams=grams, source=FeedSource.DEVICE, event_id=event_id, at=when.at,
            offline=offline, clock_untrusted=not when.trusted,
        )  # fmt: skip
        if not repeat:
            events.fed_recorded(event, household_id=feeder.household_id)
    return event


def history_purge(*, before: dt.datetime) -> dict[str, int]:
    """Visits, feedings and closed commands older than the retention."""
    visits, _ = Visit.objects.filter(seen_at__lt=before).delete()
    fed, _ = FeedEvent.objects.filter(fed_at__lt=before).delete()
    commands, _ = FeedCommand.objects.exclude(status__in=OPEN_COMMAND).filter(created_at__lt=before).delete()
    return {"visits": visits, "feed events": fed, "feed commands": commands}
