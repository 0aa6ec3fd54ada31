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
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from celery import current_app
from django.conf import settings
from django.db import models
from django.utils import timezone

from apps.accounts.models import User
from apps.feeders import events
from apps.feeders.errors import InvalidReference
from apps.feeders.models import CommandStatus, FeedCommand, Feeder
from apps.feeders.services.alerts import meal_missed_alert
from apps.feeders.services.slots_fed import SlotFed, slots_fed_write
from apps.feeders.slots import slot_parse
from apps.households.selectors import household_readers
from apps.infra.batch import value, write_together
from apps.infra.db import rows_update, write_transaction
from apps.notifications.mail import BROKER_RETRY_POLICY
from apps.notifications.models import AlertKind
from apps.notifications.services import alert_close, alert_open

LOCAL_MEALS_TELL_TASK = "apps.feeders.tasks.local_meals_tell_task"


def feeder_schedule_ack(*, feeder: Feeder, version: int, now: dt.datetime | None = None) -> None:
    """The device holds `version` and has uploaded everything it queued before: its owners are told what it fed."""
    value(schedule_acks_record([ScheduleAcked(feeder=feeder, version=version, now=now or timezone.now())])[0])


@dataclass(frozen=True)
class ScheduleAcked:
    feeder: Feeder
    version: int
    now: dt.datetime


def schedule_acks_record(acks: Sequence[ScheduleAcked]) -> list[None | BaseException]:
    """Acknowledgements that arrived together, in one transaction; per acknowledgement, None or its error.

    If the broker refuses the notices' task, the acknowledgements fail, to be sent again: the meals
    stay untold until then.
    """
    results = write_together(_write_acks, acks)
    try:
        local_meals_tell_later(feeder_ids={ack.feeder.pk for ack in acks}, now=acks[-1].now)
    except Exception as exc:  # noqa: BLE001 - the broker's refusal, raised in each acknowledgement
        return [exc for _ in results]
    return results


def _write_acks(acks: Sequence[ScheduleAcked]) -> list[None | BaseException]:
    latest = {ack.feeder.pk: ack for ack in acks}  # a device that acknowledged twice holds the last
    for ack in latest.values():
        ack.feeder.schedule_acked_version, ack.feeder.reported_at = ack.version, ack.now
    rows_update([ack.feeder for ack in latest.values()], ["schedule_acked_version", "reported_at"])
    return [None] * len(acks)


def local_meals_tell_later(*, feeder_ids: Collection[int], now: dt.datetime) -> None:
    """Have a worker tell the owners of those of these feeders that fed meals on their own, once their
    queue is uploaded (local_meals_tell_task). In a fleet's reconnection the notices were most of the
    web process's time; one task takes the lot. Raises when the broker refuses it."""
    untold = sorted(Feeder.objects.filter(pk__in=feeder_ids, local_meals_untold__gt=0).values_list("pk", flat=True))
    if not untold:
        return
    tell = current_app.signature(LOCAL_MEALS_TELL_TASK, kwargs={"feeder_ids": untold, "at": now.isoformat()})
    queue = settings.FEED_COMMAND_QUEUE or current_app.conf.task_default_queue  # the feeders' tasks' queue
    tell.apply_async(queue=queue, retry=True, retry_policy=BROKER_RETRY_POLICY)


def feeders_local_meals_tell(*, feeder_ids: Collection[int], now: dt.datetime) -> dict[int, int]:
    """The notice "feeder was offline, it fed N meals on its own", once per reconnection that brought any:
    the meals told of, by feeder."""
    with write_transaction():
        # In id order, as the pets are locked: two batches sharing feeders never wait on each other in a circle.
        untold = Feeder.objects.select_for_update().filter(pk__in=feeder_ids, local_meals_untold__gt=0)
        rows = list(untold.order_by("pk"))
        told = {row.pk: row.local_meals_untold for row in rows}
        if rows:
            Feeder.objects.filter(pk__in=told).update(local_meals_untold=0)
        for row in rows:
            _local_meals_notice(row, told=told[row.pk], now=now)
    return told


def _local_meals_notice(row: Feeder, *, told: int, now: dt.datetime) -> None:
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


def feeder_slot_fed(
    *, feeder: Feeder, slot: str, grams: int, event_id: str, fed_at: dt.datetime | None, now: dt.datetime | None = None
) -> FeedCommand:
    """The device served a scheduled meal on its own: its slot is done, once, whoever reports it how often.

    Recorded with the uploads of other threads that arrive meanwhile (slots_fed.py has the rules).
    """
    upload = slot_fed(feeder=feeder, slot=slot, grams=grams, event_id=event_id, fed_at=fed_at, now=now)
    return value(slots_fed_record([upload])[0])


def slot_fed(
    *, feeder: Feeder, slot: str, grams: int, event_id: str, fed_at: dt.datetime | None, now: dt.datetime | None = None
) -> SlotFed:
    """An upload, to record with `slots_fed_record`: InvalidReference for a slot key that is no slot's."""
    ref = slot_parse(slot)
    if ref is None:
        raise InvalidReference("slot", "meal slot")
    return SlotFed(feeder=feeder, ref=ref, grams=grams, event_id=event_id, fed_at=fed_at, now=now or timezone.now())


def slots_fed_record(uploads: Sequence[SlotFed]) -> list[FeedCommand | BaseException]:
    """Record uploads that arrived together (feeder_slot_fed's rules): per upload, its slot's command or its error."""
    return write_together(slots_fed_write, uploads)


def slots_unreported_settle(*, now: dt.datetime | None = None) -> int:
    """Unreported slots the feeder has reported past without serving them, or waited for too long: missed."""
    now = now or timezone.now()
    give_up = now - dt.timedelta(seconds=settings.MEAL_LOCAL_REPORT_WAIT)
    settled = 0
    with write_transaction():
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
