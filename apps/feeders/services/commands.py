"""Feed commands: a feeding is a row before it is a message (docs: "Feeding").

A command is ordered (feed now, or a meal slot by meals.py), delivered to its
feeder's socket by a task (`feed_commands_deliver`, counted and given up after
COMMAND_MAX_DELIVERIES), answered by the device (`feed_command_complete`), and
reconciled by beat: sent again when unanswered, closed when no longer valid.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from celery import current_app
from django.conf import settings
from django.db import models, transaction
from django.db.models import QuerySet
from django.utils import timezone

from apps.accounts.models import User
from apps.accounts.times import when_text_for
from apps.feeders import events
from apps.feeders.errors import AllowanceExceeded, InvalidReference
from apps.feeders.models import OPEN_COMMAND, CommandStatus, FeedCommand, Feeder, FeedEvent, FeedSource, Pet
from apps.feeders.services.access import feeder_access_check
from apps.feeders.services.alerts import meal_missed_alert, schedule_fed
from apps.feeders.services.pets import pet_allowance_hold, pet_feed
from apps.households.selectors import household_readers
from apps.infra.db import write_transaction
from apps.notifications.models import AlertKind
from apps.notifications.services import alert_open

logger = logging.getLogger(__name__)

# Sent by name: the task module (apps.feeders.tasks) builds on this one, not the other way round.
# A process that has the task loaded applies it as such (eager in tests); one that has not sends it.
FEED_COMMANDS_DELIVER_TASK = "apps.feeders.tasks.feed_commands_deliver_task"


def feed_command_create(
    *,
    feeder: Feeder,
    grams: int,
    source: FeedSource = FeedSource.OWNER,  # an owner's order unless a meal schedule's
    pet: Pet | None = None,
    ordered_by: User | None = None,
    now: dt.datetime | None = None,
) -> FeedCommand:
    """Order a feeder to dispense ("feed now"); `ordered_by`: the person who pressed it, kept on the
    command and on its feeding.

    The command is a promise against the pet's allowance from now until it is
    answered: a second order while the feeder has not answered sees the first.
    """
    if pet is not None and pet.household_id != feeder.household_id:
        raise InvalidReference("pet_id", "pet")
    now = now or timezone.now()
    expires_at = now + dt.timedelta(seconds=settings.COMMAND_EXPIRE_AFTER)
    with transaction.atomic():
        if pet is not None:
            feeder_access_check(feeder=feeder, pet=pet, field="pet_id")
            pet_allowance_hold(pet=pet, grams=grams, at=now)
        command = FeedCommand.objects.create(
            feeder=feeder, pet=pet, grams=grams, source=source, expires_at=expires_at, ordered_by=ordered_by
        )
        feed_command_deliver(command=command)
    return command


def feed_command_deliver(*, command: FeedCommand) -> None:
    """Send the command to its feeder's open socket after commit (no socket: it waits for the next connect)."""
    events.command_to_device(command)


def feed_command_send(*, feeder: Feeder, command_id: int, now: dt.datetime | None = None) -> FeedCommand | None:
    """Mark an open command of `feeder` sent (once more); None if it is closed or not the feeder's."""
    with write_transaction():
        sent = FeedCommand.objects.filter(pk=command_id, feeder=feeder, status__in=OPEN_COMMAND).update(
            status=CommandStatus.SENT, attempts=models.F("attempts") + 1, sent_at=now or timezone.now()
        )
        if not sent:
            return None
        command = FeedCommand.objects.get(pk=command_id)
        events.command_changed(command, household_id=feeder.household_id)
    return command


def feed_command_complete(
    *, feeder: Feeder, command_id: int, done: bool, grams_dispensed: int, error: str = "",
    now: dt.datetime | None = None,
) -> FeedCommand:  # fmt: skip
    """The device's CommandResult. Closing a closed command changes nothing."""
    now = now or timezone.now()
    with write_transaction():
        # The pet and who ordered it come along (the feeding needs them) but are not locked: pet_feed locks the pet.
        found = FeedCommand.objects.select_for_update(of=("self",)).select_related("pet", "ordered_by")
        command = found.filter(pk=command_id, feeder=feeder).first()
        if command is None:
            raise InvalidReference("command_id", "command")
        if command.status not in OPEN_COMMAND:
            return command
        command.status = CommandStatus.DONE if done else CommandStatus.FAILED
        command.grams_dispensed, command.error, command.completed_at = grams_dispensed, error, now
        fed = None
        if done and grams_dispensed > 0:
            fed, not_counted = _record_command_feeding(command, feeder=feeder, at=now)
            command.error = not_counted or error
        command.save(update_fields=["status", "grams_dispensed", "error", "completed_at"])
        events.command_completed(command, fed=fed, household_id=feeder.household_id)
        if done:
            schedule_fed(command=command, now=now)
    return command


def _record_command_feeding(command: FeedCommand, *, feeder: Feeder, at: dt.datetime) -> tuple[FeedEvent | None, str]:
    """The FeedEvent of a done command, or why it was not counted."""
    # The event id is unique per feeder: a command is counted once, whatever else went wrong.
    grams, source, event_id = command.grams_dispensed or 0, FeedSource(command.source), f"command-{command.pk}"
    if command.pet is None:
        event = FeedEvent.objects.create(
            feeder=feeder, grams=grams, source=source, command=command, event_id=event_id, fed_at=at,
            ordered_by=command.ordered_by,
        )  # fmt: skip
        return event, ""
    try:
        # pet_feed's own savepoint undoes nothing but its lock when the allowance says no.
        event = pet_feed(
            pet=command.pet, feeder=feeder, grams=grams, source=source, event_id=event_id, command=command, at=at
        )
        return event, ""
    except AllowanceExceeded as exc:
        # Dispensed already: the command is done, but over the allowance it is not counted.
        return None, exc.detail[:200]


DELIVERY_CHUNK = 50  # commands per delivery task: fewer broker round trips, a small redelivery when a worker dies


DELIVERY_FIELDS = (
    "feeder__is_online", "feeder__household_id", "pet_id", "grams", "status", "attempts", "deliveries",
    "grams_dispensed", "error", "slot_key",
)  # fmt: skip


def feed_commands_enqueue(command_ids: list[int], *, resend: bool = False) -> None:
    """Queue delivery tasks of up to DELIVERY_CHUNK commands each, through one broker connection."""
    if not command_ids:
        return
    queue = settings.FEED_COMMAND_QUEUE or current_app.conf.task_default_queue
    with current_app.producer_or_acquire() as producer:
        for start in range(0, len(command_ids), DELIVERY_CHUNK):
            chunk = command_ids[start : start + DELIVERY_CHUNK]
            deliver = current_app.signature(FEED_COMMANDS_DELIVER_TASK, args=(chunk,), kwargs={"resend": resend})
            deliver.apply_async(queue=queue, producer=producer)


def feed_commands_deliver_here(command_ids: list[int]) -> None:
    """Deliver in this process, without a queue hop: the dispatcher's own delivery of what it just wrote.

    A queued task cost the meal about a second (publish, a free pool process, a
    fresh read). Nothing is lost when this fails or its process dies: the rows
    are committed, and the reconciler sends again what is pending or sent and
    unanswered after COMMAND_RESEND_AFTER, as it does for a killed delivery task.
    """
    # One delivery for the whole batch (MEAL_DISPATCH_BATCH at most): three statements and one
    # channel-layer pipeline, whatever its size.
    try:
        feed_commands_deliver(command_ids=command_ids)
    except Exception:  # the committed meals stand; the reconciler has them
        logger.exception("%d feed commands not delivered at once; the reconciler sends them", len(command_ids))


def feed_commands_deliver(*, command_ids: list[int], resend: bool = False, now: dt.datetime | None = None) -> int:
    """Push the open ones of these commands to their feeders' sockets; returns how many went.

    Each try is counted and committed before anything is sent: a worker killed
    while it sends comes back here with the counts one higher, and a command
    tried more than COMMAND_MAX_DELIVERIES times fails and its owner is told.
    A closed command (done, expired, deleted meanwhile) is skipped: repeats are no-ops.
    """
    now = now or timezone.now()
    with transaction.atomic():
        open_rows = FeedCommand.objects.filter(pk__in=command_ids, status__in=OPEN_COMMAND)
        open_rows.update(deliveries=models.F("deliveries") + 1)
        # What the sends and the owners' CommandStatus use, no timestamps: parsing five of them a
        # row was a tenth of a batch's delivery. The rare give-up reads the rest when it needs it.
        commands = list(open_rows.select_related("feeder").only(*DELIVERY_FIELDS))
        for command in commands:
            if command.deliveries > settings.COMMAND_MAX_DELIVERIES:
                _give_up(command, now=now)
        # An offline feeder's commands stay pending: it gets them when it connects (the socket
        # joins its group before it reads them, so one going online meanwhile misses nothing),
        # and one never sent within its validity is a missed meal, not an expired one.
        going = [c for c in commands if c.status in OPEN_COMMAND and c.feeder.is_online]
        # Marked sent here, in one statement, so that sockets send without a query each; the
        # reconciler sends again what gets no answer.
        FeedCommand.objects.filter(pk__in=[c.pk for c in going]).update(
            status=CommandStatus.SENT, attempts=models.F("attempts") + 1, sent_at=now
        )
        for command in going:
            command.status, command.attempts, command.sent_at = CommandStatus.SENT, command.attempts + 1, now
    events.commands_to_device_now(going, resend=resend)
    return len(going)


def _give_up(command: FeedCommand, *, now: dt.datetime) -> None:
    command.status, command.completed_at = CommandStatus.FAILED, now
    command.error = f"not delivered after {settings.COMMAND_MAX_DELIVERIES} tries"
    command.save(update_fields=["status", "completed_at", "error"])
    events.command_changed(command, household_id=command.feeder.household_id)
    logger.error("feed command %s failed: %s", command.pk, command.error)

    def detail(reader: User) -> str:
        ordered = when_text_for(command.created_at, reader=reader.time_zone)
        return (f"The {command.grams} g feeding ordered on {ordered} could not be "
                f"delivered to {command.feeder.name} ({command.error}). It will not be served.")  # fmt: skip

    alert_open(
        readers=household_readers(household_id=command.feeder.household_id), kind=AlertKind.COMMAND_FAILED,
        key=f"command:{command.pk}", subject=f"A feeding on {command.feeder.name} failed", detail=detail, now=now,
    )  # fmt: skip


@dataclass
class ReconcileResult:
    resent: int = 0
    expired: int = 0
    missed: int = 0


def feed_commands_reconcile(*, now: dt.datetime | None = None) -> ReconcileResult:
    """Close what is no longer valid, then send again what an online feeder has not answered."""
    now = now or timezone.now()
    result = ReconcileResult()
    result.expired, result.missed = feed_commands_expire(commands=FeedCommand.objects.all(), now=now)
    stale = now - dt.timedelta(seconds=settings.COMMAND_RESEND_AFTER)
    unanswered = FeedCommand.objects.filter(feeder__is_online=True).filter(
        models.Q(status=CommandStatus.SENT, sent_at__lte=stale)
        | models.Q(status=CommandStatus.PENDING, created_at__lte=stale)  # its delivery was lost
    )
    ids = list(unanswered.values_list("pk", flat=True)[: settings.MEAL_DISPATCH_BATCH])
    feed_commands_enqueue(ids, resend=True)
    result.resent = len(ids)
    return result


def feed_commands_expire(*, commands: QuerySet[FeedCommand], now: dt.datetime) -> tuple[int, int]:
    """Close the open commands past their `expires_at`: (expired, missed).

    A scheduled command never sent is a missed meal (the owner is told); one
    sent without an answer, or a "feed now" that waited too long, is expired.
    """
    expired = missed = 0
    with transaction.atomic():
        stale = (
            commands.select_for_update(of=("self",))
            .select_related("feeder", "pet", "schedule")
            .filter(status__in=OPEN_COMMAND, expires_at__lte=now)
        )
        for command in stale:
            never_sent = command.status == CommandStatus.PENDING and command.schedule_id is not None
            command.status = CommandStatus.MISSED if never_sent else CommandStatus.EXPIRED
            command.error = "the feeder was offline" if never_sent else "no answer from the feeder in time"
            if never_sent and command.feeder.local_schedule:
                # It may have served the slot on its own: missed only once it reports without it (offline.py).
                command.status, never_sent = CommandStatus.UNREPORTED, False
                command.error = "the feeder was offline; it may have served the meal on its own"
            command.completed_at = now
            command.save(update_fields=["status", "error", "completed_at"])
            events.command_changed(command, household_id=command.feeder.household_id)
            if never_sent:
                missed += 1
                meal_missed_alert(command, now=now)
            else:
                expired += 1
    return expired, missed


def feeder_commands_expire(*, feeder: Feeder, now: dt.datetime) -> None:
    """Before a reconnecting feeder gets its open commands: drop those no longer valid."""
    feed_commands_expire(commands=FeedCommand.objects.filter(feeder=feeder), now=now)
