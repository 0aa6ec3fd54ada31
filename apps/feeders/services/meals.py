"""Scheduled meals: the dispatcher turns due slots into feed commands.

The database is the source of truth (docs: "Feeding"): a slot is a FeedCommand
row before it is a message, so a lost message, a killed worker or a second beat
can delay a meal but never lose it or serve it twice.

`meal_slots_dispatch` (beat, every MEAL_DISPATCH_INTERVAL s) turns due slots
into commands. Its queries use the partial index on `next_run_at` of enabled
schedules, so it reads the due rows only, whatever the table holds. A slot
falling due before beat's next tick gets a tick of its own at its second
(`meal_slots_wake_at`): meals are served on time, not up to an interval late.
Delivery and reconciliation of the commands are commands.py.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone

from apps.feeders import events
from apps.feeders.models import CommandStatus, FeedCommand, Feeder, FeedSource, MealSchedule, Pet
from apps.feeders.selectors.allowance import Allowance, pets_allowances
from apps.feeders.selectors.schedules import schedule_next_due
from apps.feeders.services.alerts import allowance_alert, meal_missed_alert
from apps.feeders.services.commands import feed_commands_enqueue
from apps.feeders.services.schedules import schedule_next_run
from apps.feeders.slots import slot_key_at

MAX_ROUNDS = 100  # batches per tick; a backlog past that waits for the next tick
# A wake tick writes its slots' commands up to this long before they fall due, and sends them on
# the second: a thousand slots took the tick most of a second to write after it.
WAKE_LEAD = dt.timedelta(seconds=1)


@dataclass
class DispatchResult:
    pending: int = 0  # commands created and handed to delivery
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


def meal_slots_dispatch_ahead(*, at: dt.datetime, deliver: Callable[[list[int]], None]) -> DispatchResult:
    """A wake tick: the slots due by `at` become commands now and are delivered at `at`, not before.

    The rows are committed first, as always: a process that dies while it waits
    leaves pending commands, which the reconciler sends. A feeder that connects
    meanwhile gets them at once, up to WAKE_LEAD early.
    """
    batches: list[list[int]] = []
    result = meal_slots_dispatch(now=max(at, timezone.now()), enqueue=batches.append)
    if (wait := (at - timezone.now()).total_seconds()) > 0:
        time.sleep(wait)
    for batch in batches:
        deliver(batch)
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
        # No pets or feeders joined: the pets are read (and locked) once per pet below, and a
        # command needs only their ids; a thousand rows built for nothing were a tenth of a tick.
        due = list(
            MealSchedule.objects.select_for_update(skip_locked=True)
            .filter(enabled=True, next_run_at__lte=now)
            .order_by("next_run_at")[:batch]
        )
        if not due:
            return 0
        commands = _commands_for(due, now=now, result=result)
        pending = _insert(commands)
        _advance(due)
        _alerts_for(commands, now=now)
        transaction.on_commit(lambda: enqueue(pending))
    return len(due)


def _commands_for(due: list[MealSchedule], *, now: dt.datetime, result: DispatchResult) -> list[FeedCommand]:
    grace = dt.timedelta(seconds=settings.MEAL_MISSED_GRACE)
    allowances = _allowances_held(due)
    late = [s.feeder_id for s in due if s.next_run_at is not None and now - s.next_run_at > grace]
    serve_alone = _local_schedule_feeders(late)
    commands = []
    for schedule in due:
        slot = schedule.next_run_at
        assert slot is not None  # noqa: S101 - the query asked for next_run_at <= now
        # The next slot counts from this one, not from now, so that a late tick serves
        # (or misses) every slot in between; clock.next_slot is DST-correct.
        schedule.next_run_at = schedule_next_run(schedule=schedule, after=slot)
        command = FeedCommand(
            feeder_id=schedule.feeder_id, pet_id=schedule.pet_id, grams=schedule.grams, source=FeedSource.SCHEDULE,
            schedule=schedule, slot_at=slot, expires_at=slot + grace,
            # The slot's name on the feeder too: a slot it served on its own has a row with this
            # key already, and this one is skipped as a conflict (_insert).
            slot_key=slot_key_at(schedule.pk, slot, times=schedule.times, tz=ZoneInfo(schedule.time_zone)),
        )  # fmt: skip
        if now - slot > grace and schedule.feeder_id in serve_alone:
            # Beat (or the whole server) was down: the feeder has served it on its own, or will say it did not.
            command.status, command.error = CommandStatus.UNREPORTED, "the server was down at the slot's time"
        elif now - slot > grace:
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


def _local_schedule_feeders(feeder_ids: list[int]) -> set[int]:
    """Which of these feeders serve their schedule on their own (one query, only when a slot is late)."""
    if not feeder_ids:
        return set()
    return set(Feeder.objects.filter(pk__in=feeder_ids, local_schedule=True).values_list("pk", flat=True))


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


def _insert(commands: list[FeedCommand]) -> list[int]:
    """Write the batch's commands, skipping slots that have one already; the ids of the pending ones written."""
    if connection.vendor != "postgresql":
        FeedCommand.objects.bulk_create(commands, ignore_conflicts=True)
        return _created_ids(commands)
    # bulk_create with ignore_conflicts returns no ids and adapts every value on its own (a third
    # of a tick at 1,000): ten arrays in one INSERT … RETURNING give the ids in the same statement.
    columns = (
        "feeder_id", "pet_id", "grams", "source", "status", "schedule_id", "slot_at", "expires_at", "error", "slot_key",
    )  # fmt: skip
    types = ("bigint", "bigint", "integer", "text", "text", "bigint", "timestamptz", "timestamptz", "text", "text")
    arrays = [[getattr(c, column) for c in commands] for column in columns]
    for text in (3, 4):  # choices as their values: psycopg would write an Enum's name
        arrays[text] = [str(value) for value in arrays[text]]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {FeedCommand._meta.db_table} ({', '.join(columns)}, attempts, deliveries, local, created_at) "  # noqa: S608 - the model's own names
            f"SELECT *, 0, 0, false, %s FROM unnest({', '.join(f'%s::{t}[]' for t in types)}) "
            "ON CONFLICT DO NOTHING RETURNING id, status",
            [timezone.now(), *arrays],
        )
        return [pk for pk, status in cursor.fetchall() if status == CommandStatus.PENDING]


def _created_ids(commands: list[FeedCommand]) -> list[int]:
    """Ids of the pending commands of this batch (bulk_create with ignore_conflicts returns none)."""
    wanted = {(c.schedule_id, c.slot_at) for c in commands if c.status == CommandStatus.PENDING}
    rows = FeedCommand.objects.filter(
        schedule_id__in={c.schedule_id for c in commands}, slot_at__in={slot for _, slot in wanted},
        status=CommandStatus.PENDING,
    ).values_list("pk", "schedule_id", "slot_at")  # fmt: skip
    return [pk for pk, schedule_id, slot in rows if (schedule_id, slot) in wanted]


def _alerts_for(commands: list[FeedCommand], *, now: dt.datetime) -> None:
    commands = _written(commands)
    refused = [c for c in commands if c.status == CommandStatus.FAILED]
    for command in commands:
        if command.status == CommandStatus.MISSED:
            meal_missed_alert(command, now=now)
        elif command.status == CommandStatus.FAILED:
            allowance_alert(command, now=now)
    # A feeder that keeps its schedule would serve a refused slot itself once no FeedNow came.
    serve_alone = _local_schedule_feeders([c.feeder_id for c in refused])
    events.slots_skipped([c for c in refused if c.feeder_id in serve_alone])


def _written(commands: list[FeedCommand]) -> list[FeedCommand]:
    """The missed and refused commands of the batch that _insert wrote: a slot with a row already
    (the feeder served it on its own before this tick) was skipped, and is not missed or refused."""
    told = [c for c in commands if c.status in (CommandStatus.MISSED, CommandStatus.FAILED)]
    if not told:
        return []
    rows = FeedCommand.objects.filter(
        schedule_id__in={c.schedule_id for c in told}, slot_at__in={c.slot_at for c in told}
    ).values_list("schedule_id", "slot_at", "status")
    stored: dict[tuple[int | None, dt.datetime | None], str] = {(sid, at): status for sid, at, status in rows}
    return [c for c in told if stored.get((c.schedule_id, c.slot_at)) == c.status]
