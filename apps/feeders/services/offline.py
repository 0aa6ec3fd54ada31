"""Meals that survive a lost network: the feeder keeps its schedule and serves a slot on its own.

A feeder that announces "local_schedule" in Hello gets its whole schedule (`ScheduleSync`,
versioned) after Welcome and after every change. The server stays the source of truth: one
FeedCommand row per slot (unique schedule + slot key), whoever serves it. Online, the dispatcher
serves it with FeedNow as for any feeder. Cut off, the feeder serves it MEAL_LOCAL_GRACE seconds
after its time and uploads `Fed{slot, local: true}` when it is back, before its ScheduleAck:

- the slot's row is closed as done by the device (written, if the dispatcher never got to it, so
  that it never dispatches that slot), its feeding recorded at the device's time, corrected;
- a slot served already (a FeedNow answered, an upload repeated or reordered) changes nothing.

Missed-marking waits for the feeder (the choice documented in docs/meals.md): a slot never sent
to such a feeder is `unreported` at its expiry, not missed, and no one is told. It is settled when
the feeder reports it (done), or as missed once the feeder has reported past it without it, or
after MEAL_LOCAL_REPORT_WAIT. A slot marked missed that the feeder reports later is corrected.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from apps.accounts.models import User
from apps.feeders import events
from apps.feeders.errors import AllowanceExceeded, InvalidReference
from apps.feeders.models import CommandStatus, FeedCommand, Feeder, FeedEvent, FeedSource, MealSchedule, Pet
from apps.feeders.services.alerts import meal_missed_alert, schedule_fed
from apps.feeders.services.device_clock import device_time_correct
from apps.feeders.services.pets import pet_feed
from apps.feeders.slots import SlotRef, slot_instant, slot_parse
from apps.households.selectors import household_readers
from apps.notifications.models import AlertKind
from apps.notifications.services import alert_close, alert_open


def feeder_schedule_ack(*, feeder: Feeder, version: int, now: dt.datetime | None = None) -> None:
    """The device holds `version` and has uploaded everything it queued before: tell the owner what it fed."""
    now = now or timezone.now()
    Feeder.objects.filter(pk=feeder.pk).update(schedule_acked_version=version, reported_at=now)
    local_meals_tell(feeder=feeder, now=now)


def local_meals_tell(*, feeder: Feeder, now: dt.datetime) -> int:
    """The notice "feeder was offline, it fed N meals on its own", once per reconnection that brought any."""
    with transaction.atomic():
        row = Feeder.objects.select_for_update().filter(pk=feeder.pk, local_meals_untold__gt=0).first()
        if row is None:
            return 0
        told, row.local_meals_untold = row.local_meals_untold, 0
        row.save(update_fields=["local_meals_untold"])
        meals, name = ("1 meal" if told == 1 else f"{told} meals"), row.name

        def detail(reader: User) -> str:
            return (f"Your feeder {name} could not reach the server for a while. It fed {meals} on its own, "
                    "as scheduled; they are in the history, marked as fed offline.")  # fmt: skip

        # A notice, not an incident: the feeder-offline kind (the owner's switch for it counts), closed at once.
        key = f"feeder:{row.pk}:local:{now.isoformat()}"
        readers = household_readers(household_id=row.household_id)
        subject = f"{name} was offline and fed {meals} on its own"
        alert_open(readers=readers, kind=AlertKind.FEEDER_OFFLINE, key=key, subject=subject, detail=detail, now=now)
        alert_close(kind=AlertKind.FEEDER_OFFLINE, key=key, now=now)
    return told


def feeder_slot_fed(
    *, feeder: Feeder, slot: str, grams: int, event_id: str, fed_at: dt.datetime | None, now: dt.datetime | None = None
) -> FeedCommand:
    """The device served a scheduled meal on its own: its slot is done, once, whoever reports it how often."""
    now = now or timezone.now()
    ref = slot_parse(slot)
    schedules = MealSchedule.objects.select_related("pet").filter(feeder=feeder)
    schedule = None if ref is None else schedules.filter(pk=ref.schedule_id).first()
    if ref is None or schedule is None:
        raise InvalidReference("slot", "meal slot")
    slot_at = slot_instant(ref, times=schedule.times, tz=ZoneInfo(schedule.time_zone))
    when = device_time_correct(feeder=feeder, reported=fed_at, now=now, fallback=slot_at)
    with transaction.atomic():
        command = _slot_command(schedule, ref, slot_at=slot_at or when.at)
        if command.status == CommandStatus.DONE or FeedEvent.objects.filter(feeder=feeder, event_id=event_id).exists():
            return command  # served by a FeedNow, or this upload came before
        command.status, command.local, command.grams_dispensed = CommandStatus.DONE, True, grams
        command.completed_at, command.error = now, ""
        fed = None
        try:
            fed = pet_feed(
                pet=schedule.pet, feeder=feeder, grams=grams, source=FeedSource.SCHEDULE, event_id=event_id,
                command=command, at=when.at, offline=True, clock_untrusted=not when.trusted,
            )  # fmt: skip
        except AllowanceExceeded as exc:  # dispensed already: done, but over the allowance it is not counted
            command.error = exc.detail[:200]
        command.save(update_fields=["status", "local", "grams_dispensed", "completed_at", "error"])
        Feeder.objects.filter(pk=feeder.pk).update(local_meals_untold=models.F("local_meals_untold") + 1)
        events.command_completed(command, fed=fed, household_id=feeder.household_id)
        schedule_fed(command=command, now=now)  # a "missed" said of this schedule is over
    return command


def _slot_command(schedule: MealSchedule, ref: SlotRef, *, slot_at: dt.datetime) -> FeedCommand:
    """The slot's row, locked; written now if the dispatcher never got to it (so it never will)."""
    # Locked in the order feed_command_complete locks (command, then pet in pet_feed); a new row
    # takes the pet lock first, which the dispatcher takes before it writes: one of the two waits.
    same_slot = models.Q(slot_key=ref.key) | models.Q(slot_at=slot_at)
    found = FeedCommand.objects.select_for_update(of=("self",)).filter(same_slot, schedule=schedule)
    command = found.first()
    if command is not None:
        return command
    Pet.objects.select_for_update().get(pk=schedule.pet_id)
    command = found.first()  # written by a dispatcher we waited for
    if command is not None:
        return command
    command = FeedCommand(
        feeder_id=schedule.feeder_id, pet_id=schedule.pet_id, grams=schedule.grams, source=FeedSource.SCHEDULE,
        schedule=schedule, slot_at=slot_at, slot_key=ref.key, status=CommandStatus.UNREPORTED,
        expires_at=slot_at + dt.timedelta(seconds=settings.MEAL_MISSED_GRACE),
    )  # fmt: skip
    try:
        with transaction.atomic():
            command.save()
    except IntegrityError:  # SQLite's other writer, or a key the schedule's edit gave another instant
        return found.get()
    return command


def slots_unreported_settle(*, now: dt.datetime | None = None) -> int:
    """Unreported slots the feeder has reported past without serving them, or waited for too long: missed."""
    now = now or timezone.now()
    give_up = now - dt.timedelta(seconds=settings.MEAL_LOCAL_REPORT_WAIT)
    settled = 0
    with transaction.atomic():
        stale = (
            FeedCommand.objects.select_for_update(of=("self",))
            .select_related("feeder", "pet", "schedule")
            .filter(status=CommandStatus.UNREPORTED)
            .filter(models.Q(feeder__reported_at__gte=models.F("expires_at")) | models.Q(expires_at__lte=give_up))
        )
        for command in stale:
            command.status, command.completed_at = CommandStatus.MISSED, now
            command.error = "the feeder was offline and did not serve it on its own"
            command.save(update_fields=["status", "error", "completed_at"])
            events.command_changed(command, household_id=command.feeder.household_id)
            meal_missed_alert(command, now=now)
            settled += 1
    return settled
