"""Scheduled meals that feeders served on their own, recorded many uploads at a time.

After an outage a whole fleet reconnects and uploads its queue at once. Recorded
one by one, an upload cost some twenty statements, and the ORM's building of
each was most of the web process's time. Here the uploads that arrived together
(apps.infra.batch) share their statements: a few per batch, not per upload.

The rules are feeder_slot_fed's (offline.py): the slot's row is written if the
dispatcher never got to it (so it never will) and closed as done by the device,
once; its feeding is counted against the allowance at the device's (corrected)
time, or, over the allowance, recorded as not counted. An upload of a slot done
already, or of an event id recorded before, changes nothing.

Each pet's uploads of one batch are taken a round at a time, one per pet per
round, so that each allowance sees the feedings before it. Locks are taken in
feed_command_complete's order: the slots' rows, then the pets.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import models, transaction

from apps.feeders import events
from apps.feeders.errors import InvalidReference
from apps.feeders.models import CommandStatus, FeedCommand, Feeder, FeedEvent, FeedSource, MealSchedule, Pet
from apps.feeders.selectors.allowance import pets_allowances
from apps.feeders.services.alerts import schedules_fed
from apps.feeders.services.device_clock import DeviceTime, device_time_correct
from apps.feeders.services.pets import allowance_refusal
from apps.feeders.slots import SlotRef, slot_instant

Result = FeedCommand | BaseException
CLOSED_FIELDS = ["status", "local", "grams_dispensed", "completed_at", "error"]


@dataclass(frozen=True)
class SlotFed:
    """One upload: `feeder` served the slot `ref` on its own, `fed_at` by its clock."""

    feeder: Feeder
    ref: SlotRef
    grams: int
    event_id: str
    fed_at: dt.datetime | None
    now: dt.datetime


@dataclass
class Upload:
    index: int  # in the batch: where its result goes
    fed: SlotFed
    schedule: MealSchedule
    slot_at: dt.datetime
    when: DeviceTime
    found: FeedCommand | None = None  # the slot's row, if written before


def slots_fed_write(batch: Sequence[SlotFed]) -> list[Result]:
    """Record each upload; per upload, its slot's command or the error to raise in its thread."""
    results: list[Result | None] = [None] * len(batch)
    # The pets are read below, locked: the schedule's own join would read them twice.
    schedules = MealSchedule.objects.in_bulk({fed.ref.schedule_id for fed in batch})
    rounds: list[list[Upload]] = []
    per_pet: Counter[int] = Counter()
    for index, fed in enumerate(batch):
        schedule = schedules.get(fed.ref.schedule_id)
        try:
            if schedule is None or schedule.feeder_id != fed.feeder.pk:
                raise LookupError
            slot_at = slot_instant(fed.ref, times=schedule.times, tz=ZoneInfo(schedule.time_zone))
        except (LookupError, OverflowError):  # not this feeder's, or a day whose meal falls outside the calendar
            # An exception of its own: each is raised in its upload's thread, with its own traceback.
            results[index] = InvalidReference("slot", "meal slot")
            continue
        when = device_time_correct(feeder=fed.feeder, reported=fed.fed_at, now=fed.now, fallback=slot_at)
        turn = per_pet[schedule.pet_id]
        per_pet[schedule.pet_id] += 1
        if turn == len(rounds):
            rounds.append([])
        rounds[turn].append(Upload(index, fed, schedule, slot_at or when.at, when))
    for uploads in rounds:
        for upload, command in zip(uploads, _round_write(uploads), strict=True):
            results[upload.index] = command
    return [result for result in results if result is not None]  # every upload has one by now


def _round_write(uploads: list[Upload]) -> list[FeedCommand]:
    """One upload per pet: each slot's command, closed as done by the device unless it was already."""
    _commands_find(uploads)
    pets = Pet.objects.select_for_update().order_by("pk").in_bulk({u.schedule.pet_id for u in uploads})
    if any(u.found is None for u in uploads):
        _commands_find(uploads)  # written by a dispatcher we waited for
    commands = [u.found or _slot_row(u) for u in uploads]
    repeated = set(
        FeedEvent.objects.filter(
            feeder_id__in={u.fed.feeder.pk for u in uploads}, event_id__in={u.fed.event_id for u in uploads}
        ).values_list("feeder_id", "event_id")
    )
    serving = [
        (u, command)
        for u, command in zip(uploads, commands, strict=True)
        if command.status != CommandStatus.DONE and (u.fed.feeder.pk, u.fed.event_id) not in repeated
    ]
    fed = _close(serving, pets)
    with transaction.atomic():  # a key another writer took: the batch fails, and each upload goes alone
        FeedCommand.objects.bulk_create([command for u, command in zip(uploads, commands, strict=True) if not u.found])
    for u, command in serving:
        if u.found is not None:
            command.save(update_fields=CLOSED_FIELDS)
    if serving:
        _feedings_record(serving, fed)
    return commands


def _commands_find(uploads: list[Upload]) -> None:
    """Each upload's slot row, locked, by its key or by its instant (a schedule edited since)."""
    missing = [u for u in uploads if u.found is None]
    same_slot = models.Q(slot_key__in={u.fed.ref.key for u in missing}) | models.Q(
        slot_at__in={u.slot_at for u in missing}
    )
    found = FeedCommand.objects.select_for_update(of=("self",)).filter(
        same_slot, schedule_id__in={u.schedule.pk for u in missing}
    )
    by_key = {(c.schedule_id, c.slot_key): c for c in found}
    by_instant = {(c.schedule_id, c.slot_at): c for c in by_key.values()}
    for u in missing:
        u.found = by_key.get((u.schedule.pk, u.fed.ref.key)) or by_instant.get((u.schedule.pk, u.slot_at))


def _slot_row(u: Upload) -> FeedCommand:
    """The row of a slot the dispatcher never got to, unreported until the upload closes it."""
    schedule = u.schedule
    return FeedCommand(
        feeder_id=schedule.feeder_id, pet_id=schedule.pet_id, grams=schedule.grams, source=FeedSource.SCHEDULE,
        schedule=schedule, slot_at=u.slot_at, slot_key=u.fed.ref.key, status=CommandStatus.UNREPORTED,
        expires_at=u.slot_at + dt.timedelta(seconds=settings.MEAL_MISSED_GRACE),
    )  # fmt: skip


def _close(serving: list[tuple[Upload, FeedCommand]], pets: dict[int, Pet]) -> dict[int, FeedEvent]:
    """Mark each command done by the device; the feeding of each the allowance counts, by upload index."""
    answering = [command.pk for _, command in serving if command.pk is not None]
    at = {u.schedule.pet_id: u.when.at for u, _ in serving}
    allowances = pets_allowances(pets=[pets[pet_id] for pet_id in at], at=at, answering=answering)
    fed = {}
    for u, command in serving:
        pet = pets[u.schedule.pet_id]
        refusal = allowance_refusal(pet=pet, grams=u.fed.grams, allowance=allowances[pet.pk])
        command.status, command.local, command.grams_dispensed = CommandStatus.DONE, True, u.fed.grams
        # Dispensed already: done, but over the allowance it is not counted.
        command.completed_at, command.error = u.fed.now, "" if refusal is None else refusal.detail[:200]
        if refusal is None:
            fed[u.index] = FeedEvent(
                pet=pet, feeder=u.fed.feeder, grams=u.fed.grams, source=FeedSource.SCHEDULE, event_id=u.fed.event_id,
                command=command, fed_at=u.when.at, offline=True, ordered_by_id=command.ordered_by_id,
                clock_untrusted=not u.when.trusted,
            )  # fmt: skip
    return fed


def _feedings_record(serving: list[tuple[Upload, FeedCommand]], fed: dict[int, FeedEvent]) -> None:
    """The feedings, the owners' notice counters, the missed-meal incidents ended and the events."""
    FeedEvent.objects.bulk_create(list(fed.values()))
    _counters_add(Counter(u.fed.feeder.pk for u, _ in serving))
    schedules_fed(schedule_ids={u.schedule.pk for u, _ in serving}, now=serving[0][0].fed.now)
    by_household: dict[int, list[tuple[FeedCommand, FeedEvent | None]]] = {}
    for u, command in serving:
        by_household.setdefault(u.fed.feeder.household_id, []).append((command, fed.get(u.index)))
    for household_id, done in by_household.items():
        events.commands_completed(done, household_id=household_id)


def _counters_add(served: Counter[int]) -> None:
    """Add to the meals each feeder served on its own and has not told its owner about yet."""
    by_count: dict[int, list[int]] = {}
    for feeder_id, count in served.items():
        by_count.setdefault(count, []).append(feeder_id)
    for count, feeder_ids in by_count.items():
        Feeder.objects.filter(pk__in=feeder_ids).update(local_meals_untold=models.F("local_meals_untold") + count)
