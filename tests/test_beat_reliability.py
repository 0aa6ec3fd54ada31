"""Scheduled meals with real beat and worker processes: two beats, a stopped beat, an offline feeder.

The issue asks for a 1-minute schedule watched for minutes. Slots here are a few
seconds apart instead (a schedule's times may carry seconds, "07:30:15"; the API
takes whole minutes), the dispatcher runs every second (MEAL_DISPATCH_INTERVAL=1)
and the grace period is seconds (MEAL_MISSED_GRACE): the same slots, races and
clock-driven decisions, in under a minute per test.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from apps.accounts.models import User
from apps.feeders.models import CommandStatus, FeedCommand, Feeder, FeedEvent, MealSchedule
from apps.feeders.services import schedules as schedule_services
from apps.notifications.models import Alert, AlertKind
from apps.ops.redis import redis_client
from apps.tasks.beat import LOCK_KEY
from catfeeder.testing import AsgiServer, CeleryBeat, CeleryWorker, process_env, wait_until
from tests.support.devices import AutoDevice
from tests.test_feeding_chaos import Home, paired_home

pytestmark = [pytest.mark.long, pytest.mark.xdist_group("beat_reliability")]  # module fixtures: one worker

JOBS = {"meal dispatcher", "feed command reconciler"}  # the other jobs are switched off here
EVERY_DAY = [1, 2, 3, 4, 5, 6, 7]


class Scheduling:
    """A worker of its own queue, beats started on demand, the meal jobs every second."""

    def __init__(self, *, log_dir: Path, grace: int) -> None:
        self.queue = f"meals-{uuid.uuid4().hex[:8]}"
        self.log_dir = log_dir
        self.env = process_env(FEED_COMMAND_QUEUE=self.queue, MEAL_MISSED_GRACE=str(grace), BEAT_LOCK_TTL="6")
        self.worker = CeleryWorker(env=self.env, log_dir=log_dir, queues=[self.queue])
        self.beats: list[CeleryBeat] = []

    def jobs_install(self, settings: Any) -> None:
        settings.MEAL_DISPATCH_INTERVAL = settings.COMMAND_RECONCILE_INTERVAL = 1
        call_command("setup_periodic_tasks", verbosity=0)
        PeriodicTask.objects.exclude(name__in=JOBS).update(enabled=False)
        PeriodicTask.objects.filter(name__in=JOBS).update(queue=self.queue)
        redis_client().delete(LOCK_KEY)  # a lock left by another test's beat

    def beat(self) -> CeleryBeat:
        beat = CeleryBeat(env=self.env, log_dir=self.log_dir)
        self.beats.append(beat)
        return beat

    def stop_beats(self) -> None:
        for beat in self.beats:
            beat.stop()
        self.beats.clear()


def scheduling(log_dir: Path, grace: int) -> Iterator[Scheduling]:
    running = Scheduling(log_dir=log_dir, grace=grace)
    yield running
    running.stop_beats()
    running.worker.stop()


@pytest.fixture(scope="module")
def _patient(django_db_setup: None, process_logs: Path) -> Iterator[Scheduling]:
    yield from scheduling(process_logs, grace=60)


@pytest.fixture(scope="module")
def _strict(django_db_setup: None, process_logs: Path) -> Iterator[Scheduling]:
    yield from scheduling(process_logs, grace=5)


@pytest.fixture
def patient(_patient: Scheduling, transactional_db: None, settings: Any) -> Iterator[Scheduling]:
    """Grace period 60 s: every slot here is on time."""
    _patient.jobs_install(settings)
    yield _patient
    _patient.stop_beats()


@pytest.fixture
def strict(_strict: Scheduling, transactional_db: None, settings: Any) -> Iterator[Scheduling]:
    """Grace period 5 s: a slot dispatched later than that is missed."""
    _strict.jobs_install(settings)
    yield _strict
    _strict.stop_beats()


def slot_times(first: dt.datetime, offsets: list[int]) -> tuple[list[str], list[dt.datetime]]:
    slots = [first + dt.timedelta(seconds=s) for s in offsets]
    return [s.strftime("%H:%M:%S") for s in slots], slots


def meals_at(
    home: Home, offsets: list[int], *, count: int = 1, lead: int = 3
) -> tuple[list[MealSchedule], list[dt.datetime]]:
    first = timezone.now().replace(microsecond=0) + dt.timedelta(seconds=lead)
    times, slots = slot_times(first, offsets)
    made = [
        schedule_services.schedule_create(
            pet=home.pet, feeder=home.feeder, times=times, days_of_week=EVERY_DAY, grams=1, time_zone="UTC"
        )  # fmt: skip
        for _ in range(count)
    ]
    return made, slots


def commands_at(slot: dt.datetime) -> Any:
    return FeedCommand.objects.filter(slot_at=slot)


def wait_for(slot: dt.datetime, count: int = 1, status: str | None = None, timeout: float = 60) -> None:
    def there() -> bool:
        found = commands_at(slot)
        return (found.filter(status=status) if status else found).count() >= count

    wait_until(there, timeout=timeout, interval=0.2, what=f"{count} command(s) for {slot:%H:%M:%S} {status or ''}")


def test_two_beats_make_exactly_one_command_per_slot_and_the_second_takes_over(
    patient: Scheduling, asgi_server: AsgiServer, alice: User
) -> None:
    home = paired_home(alice)
    first, second = patient.beat(), patient.beat()
    wait_until(lambda: first.holds_lock() or second.holds_lock(), timeout=60, what="a beat takes the lock")
    holder, standby = (first, second) if first.holds_lock() else (second, first)
    schedules, slots = meals_at(home, [0, 2, 4, 6, 8, 20, 22], count=10)
    with AutoDevice(asgi_server.ws_url, home.device_token):
        wait_for(slots[4], count=10, status=CommandStatus.DONE)
        assert not standby.holds_lock()  # it waited, sending nothing, while the other held the lock
        holder.stop()  # releases the lock; the standby takes it within a few seconds
        for slot in slots[5:]:  # results come back in any order: wait for every slot's
            wait_for(slot, count=10, status=CommandStatus.DONE)
    assert standby.holds_lock()
    for schedule in schedules:
        assert sorted(schedule.commands.values_list("slot_at", flat=True)) == slots
    assert FeedCommand.objects.count() == FeedEvent.objects.count() == len(slots) * 10


def test_beat_stopped_across_three_slots_misses_them_and_tells_the_owner_once(
    strict: Scheduling, asgi_server: AsgiServer, alice: User
) -> None:
    home = paired_home(alice)
    beat = strict.beat()
    wait_until(beat.holds_lock, timeout=60, what="beat takes the lock")
    # The restarted beat has half a minute before the next slot: a process that starts
    # slowly beside parallel test workers must not miss it.
    [schedule], slots = meals_at(home, [0, 6, 12, 18, 60, 66])
    with AutoDevice(asgi_server.ws_url, home.device_token):
        wait_for(slots[0], status=CommandStatus.DONE)
        beat.stop()
        wait_until(lambda: timezone.now() > slots[3] + dt.timedelta(seconds=6), timeout=60, what="three slots pass")
        assert not commands_at(slots[1]).exists()
        strict.beat()
        for slot in slots[4:]:
            wait_for(slot, status=CommandStatus.DONE)
    statuses = dict(schedule.commands.values_list("slot_at", "status"))
    assert statuses == {
        slots[0]: CommandStatus.DONE,
        slots[1]: CommandStatus.MISSED,
        slots[2]: CommandStatus.MISSED,
        slots[3]: CommandStatus.MISSED,
        slots[4]: CommandStatus.DONE,
        slots[5]: CommandStatus.DONE,
    }
    assert FeedEvent.objects.count() == 3  # the missed slots were not fed
    alert = Alert.objects.get(kind=AlertKind.MEAL_MISSED)  # one incident, one mail
    assert (alert.owner, alert.mailed_at is not None, alert.closed_at is not None) == (alice, True, True)


def test_a_feeder_offline_across_three_slots_gets_the_still_valid_commands_once_each(
    patient: Scheduling, asgi_server: AsgiServer, alice: User
) -> None:
    home = paired_home(alice)
    beat = patient.beat()
    wait_until(beat.holds_lock, timeout=60, what="beat takes the lock")
    [schedule], slots = meals_at(home, [0, 2, 4, 5, 6])
    wait_for(slots[4], status=CommandStatus.PENDING)  # offline: nothing sent
    assert not Feeder.objects.get(pk=home.feeder.pk).is_online
    # The first slot's command has outlived its validity (as if it were over the grace period).
    FeedCommand.objects.filter(slot_at=slots[0]).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    with AutoDevice(asgi_server.ws_url, home.device_token) as device:
        wait_until(lambda: len(device.dispensed) == 4, timeout=30, what="the four valid commands fed")
        for slot in slots[1:]:  # the server handles the four results in any order: wait for each
            wait_for(slot, status=CommandStatus.DONE)
    valid = list(schedule.commands.filter(slot_at__in=slots[1:]).values_list("pk", flat=True))
    assert sorted(device.received) == sorted(valid)  # each once, the stale one never
    assert commands_at(slots[0]).get().status == CommandStatus.MISSED
    assert FeedEvent.objects.count() == 4
