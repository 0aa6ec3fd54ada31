"""Scheduled meals and the life of feed commands: dispatch, delivery, reconciliation.

The database is the source of truth (ARCHITECTURE.md, "Feeding"): a slot is a
FeedCommand row before it is a message, so a lost message, a killed worker or
a second beat can delay a meal but never lose it or serve it twice.

- `meal_slots_dispatch` (beat, every MEAL_DISPATCH_INTERVAL s) turns due slots
  into commands. Its queries use the partial index on `next_run_at` of enabled
  schedules, so it reads the due rows only, whatever the table holds. A slot
  falling due before beat's next tick gets a tick of its own at its second
  (`meal_slots_wake_at`): meals are served on time, not up to an interval late.
- `feed_commands_deliver` (Celery tasks of up to DELIVERY_CHUNK commands) pushes them to the feeders'
  sockets; the row counts the tries and gives up after COMMAND_MAX_DELIVERIES.
- `feed_commands_reconcile` (beat) sends again what got no answer, and closes
  what is no longer valid: a slot never sent within MEAL_MISSED_GRACE is
  missed (not fed, owner told), anything else open past its `expires_at` is
  expired.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import connection, models, transaction
from django.db.models import QuerySet
from django.utils import timezone

from apps.feeders import events
from apps.feeders.models import OPEN_COMMAND, CommandStatus, FeedCommand, Feeder, FeedSource, MealSchedule, Pet
from apps.feeders.selectors import Allowance, pet_allowance, pets_allowances, schedule_next_due
from apps.feeders.services import schedule_next_run
from apps.notifications.models import AlertKind
from apps.notifications.services import alert_close, alert_open

logger = logging.getLogger(__name__)

MAX_ROUNDS = 100  # batches per tick; a backlog past that waits for the next tick
DELIVERY_CHUNK = 50  # commands per delivery task: fewer broker round trips, a small redelivery when a worker dies


@dataclass
class DispatchResult:
    pending: int = 0  # commands created and queued for delivery
    missed: int = 0  # slots found later than the grace period: not fed
    refused: int = 0  # slots over the pet's allowance: not fed
    rounds: int = 0

    def total(self) -> int:
        return self.pending + self.missed + self.refused


def meal_slots_dispatch(
    *, now: dt.datetime | None = None, batch: int | None = None, enqueue: Callable[[list[int]], None] | None = None
) -> DispatchResult:
    """Turn every due slot into one FeedCommand, in batches; deliveries are queued after each commit.

    A schedule that is several slots behind (beat was stopped) gets one
    command per slot, each missed or not by its own lateness.
    """
    now = now or timezone.now()
    batch = batch or settings.MEAL_DISPATCH_BATCH
    result = DispatchResult()
    while result.rounds < MAX_ROUNDS:
        result.rounds += 1
        # Until a round finds nothing: a schedule several slots behind is due again after its round.
        if not _dispatch_batch(now=now, batch=batch, result=result, enqueue=enqueue or feed_commands_enqueue):
            break
    return result


def meal_slots_wake_at(*, now: dt.datetime | None = None) -> dt.datetime | None:
    """When the next slot falls due before beat's next tick: the time for a tick of its own.

    Each such time is given out once (a second beat or an overlapping tick asks
    again); a wake tick asks for none, so pausing beat stops the dispatcher.
    """
    now = now or timezone.now()
    interval = settings.MEAL_DISPATCH_INTERVAL
    due = schedule_next_due()
    if due is None or not now < due <= now + dt.timedelta(seconds=interval):
        return None
    return due if cache.add(f"meals:wake:{due.timestamp():.6f}", 1, timeout=interval + 60) else None


def _dispatch_batch(
    *, now: dt.datetime, batch: int, result: DispatchResult, enqueue: Callable[[list[int]], None]
) -> int:
    with transaction.atomic():
        # PostgreSQL: a second dispatcher (a second beat, a slow tick) skips the rows this one
        # holds instead of waiting and then serving them again. SQLite ignores FOR UPDATE, but
        # its transactions are IMMEDIATE (settings): the second one waits for the first to
        # commit and then finds next_run_at advanced. The unique (schedule, slot) is the last word.
        due = list(
            MealSchedule.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("pet", "feeder")
            .filter(enabled=True, next_run_at__lte=now)
            .order_by("next_run_at")[:batch]
        )
        if not due:
            return 0
        commands = _commands_for(due, now=now, result=result)
        FeedCommand.objects.bulk_create(commands, ignore_conflicts=True)
        _advance(due)
        pending = _created_ids(due, commands)
        _alerts_for(commands, now=now)
        transaction.on_commit(lambda: enqueue(pending))
    return len(due)


def _commands_for(due: list[MealSchedule], *, now: dt.datetime, result: DispatchResult) -> list[FeedCommand]:
    grace = dt.timedelta(seconds=settings.MEAL_MISSED_GRACE)
    allowances = _allowances_held(due)
    commands = []
    for schedule in due:
        slot = schedule.next_run_at
        assert slot is not None  # noqa: S101 - the query asked for next_run_at <= now
        # The next slot counts from this one, not from now, so that a late tick serves
        # (or misses) every slot in between; clock.next_slot is DST-correct.
        schedule.next_run_at = schedule_next_run(schedule=schedule, after=slot)
        command = FeedCommand(
            feeder=schedule.feeder, pet=schedule.pet, grams=schedule.grams, source=FeedSource.SCHEDULE,
            schedule=schedule, slot_at=slot, expires_at=slot + grace,
        )  # fmt: skip
        if now - slot > grace:
            command.status, command.error = CommandStatus.MISSED, "later than the grace period"
            result.missed += 1
        else:
            allowance = allowances[schedule.pet_id]
            if not allowance.allows(schedule.grams):
                command.status, command.error = CommandStatus.FAILED, "over the pet's allowance"
                result.refused += 1
            else:
                allowances[schedule.pet_id] = allowance.promising(schedule.grams)
                result.pending += 1
        commands.append(command)
    return commands


def _allowances_held(due: list[MealSchedule]) -> dict[int, Allowance]:
    """The allowance of each pet in the period of its first due slot, its row locked like every
    other feeding of it (three queries for the batch, whatever its size)."""
    first_slot = {s.pet_id: s.next_run_at for s in reversed(due)}  # reversed: the earliest slot of each pet wins
    # In id order: two dispatchers locking overlapping pets never wait on each other in a circle.
    pets = list(Pet.objects.select_for_update().filter(pk__in=first_slot).order_by("pk"))
    return pets_allowances(pets=pets, at=first_slot)  # type: ignore[arg-type]


def _advance(due: list[MealSchedule]) -> None:
    """Write every schedule's new next_run_at in one statement."""
    if connection.vendor != "postgresql":
        MealSchedule.objects.bulk_update(due, ["next_run_at"])
        return
    # bulk_update's CASE over a thousand ids costs a third of a tick; unnest is one join.
    table = MealSchedule._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS s SET next_run_at = v.next_run_at "  # noqa: S608 - the model's own table name
            "FROM unnest(%s::bigint[], %s::timestamptz[]) AS v(id, next_run_at) WHERE s.id = v.id",
            [[s.pk for s in due], [s.next_run_at for s in due]],
        )


def _created_ids(due: list[MealSchedule], commands: list[FeedCommand]) -> list[int]:
    """Ids of the pending commands of this batch (bulk_create with ignore_conflicts returns none)."""
    wanted = {(c.schedule_id, c.slot_at) for c in commands if c.status == CommandStatus.PENDING}
    rows = FeedCommand.objects.filter(
        schedule_id__in=[s.pk for s in due], slot_at__in={slot for _, slot in wanted}, status=CommandStatus.PENDING
    ).values_list("pk", "schedule_id", "slot_at")
    return [pk for pk, schedule_id, slot in rows if (schedule_id, slot) in wanted]


def _alerts_for(commands: list[FeedCommand], *, now: dt.datetime) -> None:
    for command in commands:
        if command.status == CommandStatus.MISSED:
            _meal_missed_alert(command, now=now)
        elif command.status == CommandStatus.FAILED:
            _allowance_alert(command, now=now)


def _meal_missed_alert(command: FeedCommand, *, now: dt.datetime) -> None:
    """One incident per schedule while its slots are missed; a fed slot ends it."""
    pet, feeder = command.pet, command.feeder
    when = timezone.localtime(command.slot_at, timezone=_zone(command)) if command.slot_at else now
    alert_open(
        owner=feeder.owner, kind=AlertKind.MEAL_MISSED, key=f"schedule:{command.schedule_id}",
        subject=f"{pet.name if pet else 'A'} meal was missed",
        detail=(f"The {when:%H:%M} meal of {pet.name if pet else 'your pet'} on {feeder.name} "
                f"({when:%Y-%m-%d}) was not served: {command.error}. "
                "Later meals are served as usual."),
        now=now,
    )  # fmt: skip


def _allowance_alert(command: FeedCommand, *, now: dt.datetime) -> None:
    """One incident per pet and allowance period."""
    pet = command.pet
    if pet is None:
        return
    allowance = pet_allowance(pet=pet, now=command.slot_at or now)
    alert_open(
        owner=pet.owner, kind=AlertKind.ALLOWANCE_REACHED, key=f"pet:{pet.pk}:{allowance.period_start.isoformat()}",
        subject=f"{pet.name} has reached the food allowance",
        detail=(f"{pet.name} has eaten {allowance.eaten_grams} g of {allowance.allowance_grams} g this period; "
                f"a scheduled meal of {command.grams} g was not served. The allowance starts again at "
                f"{allowance.period_end:%Y-%m-%d %H:%M} UTC."),
        now=now,
    )  # fmt: skip


def _zone(command: FeedCommand) -> dt.tzinfo:
    from zoneinfo import ZoneInfo

    return ZoneInfo(command.schedule.time_zone) if command.schedule else dt.UTC


# -- delivery --------------------------------------------------------------------------------
def feed_commands_enqueue(command_ids: list[int], *, resend: bool = False) -> None:
    """Queue delivery tasks of up to DELIVERY_CHUNK commands each, through one broker connection."""
    if not command_ids:
        return
    from apps.feeders.tasks import feed_commands_deliver_task

    app = feed_commands_deliver_task.app
    queue = settings.FEED_COMMAND_QUEUE or app.conf.task_default_queue
    with app.producer_or_acquire() as producer:
        for start in range(0, len(command_ids), DELIVERY_CHUNK):
            chunk = command_ids[start : start + DELIVERY_CHUNK]
            feed_commands_deliver_task.apply_async((chunk,), {"resend": resend}, queue=queue, producer=producer)


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
        commands = list(open_rows.select_related("feeder__owner", "pet"))
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
    events.command_changed(command, owner_id=command.feeder.owner_id)
    logger.error("feed command %s failed: %s", command.pk, command.error)
    alert_open(
        owner=command.feeder.owner, kind=AlertKind.COMMAND_FAILED, key=f"command:{command.pk}",
        subject=f"A feeding on {command.feeder.name} failed",
        detail=(f"The {command.grams} g feeding ordered at {command.created_at:%Y-%m-%d %H:%M} UTC could not be "
                f"delivered to {command.feeder.name} ({command.error}). It will not be served."),
        now=now,
    )  # fmt: skip


# -- reconciliation ----------------------------------------------------------------------
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
            .select_related("feeder__owner", "pet", "schedule")
            .filter(status__in=OPEN_COMMAND, expires_at__lte=now)
        )
        for command in stale:
            never_sent = command.status == CommandStatus.PENDING and command.schedule_id is not None
            command.status = CommandStatus.MISSED if never_sent else CommandStatus.EXPIRED
            command.error = "the feeder was offline" if never_sent else "no answer from the feeder in time"
            command.completed_at = now
            command.save(update_fields=["status", "error", "completed_at"])
            events.command_changed(command, owner_id=command.feeder.owner_id)
            if never_sent:
                missed += 1
                _meal_missed_alert(command, now=now)
            else:
                expired += 1
    return expired, missed


def feeder_commands_expire(*, feeder: Feeder, now: dt.datetime) -> None:
    """Before a reconnecting feeder gets its open commands: drop those no longer valid."""
    feed_commands_expire(commands=FeedCommand.objects.filter(feeder=feeder), now=now)


def schedule_commands_cancel(*, schedule: MealSchedule, now: dt.datetime | None = None) -> int:
    """A disabled or deleted schedule feeds no more: its open commands close (a late result is ignored)."""
    with transaction.atomic():
        open_commands = list(FeedCommand.objects.select_for_update().filter(schedule=schedule, status__in=OPEN_COMMAND))
        for command in open_commands:
            command.status, command.error = CommandStatus.EXPIRED, "the schedule was disabled or deleted"
            command.completed_at = now or timezone.now()
            command.save(update_fields=["status", "error", "completed_at"])
            events.command_changed(command, owner_id=schedule.feeder.owner_id)
    return len(open_commands)


def schedule_fed(*, command: FeedCommand, now: dt.datetime) -> None:
    """A scheduled meal was served: a missed-meal incident of its schedule is over."""
    if command.schedule_id is not None:
        alert_close(kind=AlertKind.MEAL_MISSED, key=f"schedule:{command.schedule_id}", now=now)
