"""A feeder that keeps its schedule, cut off from the server: every slot fed exactly once, no "missed".

Real processes, as production runs them and all of this test's own: web (uvicorn), a Celery worker
and beat (the project's locked DatabaseScheduler); and the device (tests.support.local_device)
reaching web through a TCP proxy the test cuts. Beat sends only the meal jobs, every second, to a
queue only that worker reads: the dispatcher, and the reconciler, which also settles the slots a
feeder serving alone has not reported. Slots are schedule times, so each scenario waits for a
minute's turn: three schedules at one minute are three slots at once.

- the link is cut across three slots;
- the whole server (web, worker and beat) is down across two more;
- the link flaps every two seconds across one more.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from apps.accounts.models import User
from apps.feeders.models import CommandStatus, FeedCommand, Feeder, FeedEvent, MealSchedule, Pet
from apps.feeders.services import devices as device_services
from apps.feeders.services import schedules as schedule_services
from apps.feeders.tests.factories import FeederFactory, PetFactory, owner_of
from apps.notifications.models import Alert, AlertKind
from apps.ops.redis import redis_client
from apps.tasks.beat import LOCK_KEY
from catfeeder.testing import AsgiServer, CeleryBeat, CeleryWorker, Process, process_env, wait_until
from tests.support.local_device import LocalDevice
from tests.support.tcp_proxy import TcpProxy

# Three turns of a whole minute and the server started twice: longer than the suite's 300 s.
pytestmark = [pytest.mark.long, pytest.mark.timeout(600)]

GRACE = 3.0  # seconds the device waits for a FeedNow before it serves a slot itself
# The reconciler's task settles unreported slots too; the other jobs (heartbeat, alerts checks,
# housekeeping) would only add ticks and mails to a test about meals.
JOBS = {"meal dispatcher", "feed command reconciler"}


class WholeServer:
    """Web, worker and beat, started and stopped together; web keeps its port, so the proxy's target."""

    def __init__(self, *, log_dir: Path) -> None:
        self.queue = f"meals-{uuid.uuid4().hex[:8]}"
        self.log_dir = log_dir
        # A queue of its own: no other worker of the run takes these ticks and deliveries. A short
        # lock TTL: a beat killed rather than stopped does not keep its successor waiting long.
        self.env = process_env(FEED_COMMAND_QUEUE=self.queue, BEAT_LOCK_TTL="6")
        self.port: int | None = None
        self.started: list[Process] = []  # every process ever started, for the teardown

    def jobs_install(self, settings: Any) -> None:
        settings.MEAL_DISPATCH_INTERVAL = settings.COMMAND_RECONCILE_INTERVAL = 1
        settings.FEED_COMMAND_QUEUE = self.queue  # what this process would queue goes to that worker too
        call_command("setup_periodic_tasks", verbosity=0)
        PeriodicTask.objects.exclude(name__in=JOBS).update(enabled=False)
        PeriodicTask.objects.filter(name__in=JOBS).update(queue=self.queue)
        redis_client().delete(LOCK_KEY)  # a lock left by another test's beat

    def start(self) -> None:
        web = AsgiServer(env=self.env, log_dir=self.log_dir, port=self.port)
        self.port = web.port
        self.started.append(web)
        self.started.append(CeleryWorker(env=self.env, log_dir=self.log_dir, queues=[self.queue]))
        beat = CeleryBeat(env=self.env, log_dir=self.log_dir)
        self.started.append(beat)
        wait_until(lambda: beat.check_alive() and beat.holds_lock(), timeout=60, what="beat takes the lock")

    def stop(self) -> None:
        # All at once, as when the host goes down: one by one, the worker's soft shutdown alone
        # would keep the server half up for seconds past the slot.
        with ThreadPoolExecutor() as pool:
            list(pool.map(Process.stop, self.started))


@pytest.fixture
def whole_server(transactional_db: None, process_logs: Path, settings: Any) -> Iterator[WholeServer]:
    server = WholeServer(log_dir=process_logs)
    server.jobs_install(settings)
    try:  # a process that started before another failed to is stopped too
        server.start()
        yield server
    finally:
        server.stop()


def home(user: User) -> tuple[Feeder, Pet, str]:
    feeder = FeederFactory.create(owner=user)
    pet = PetFactory.create(owner=user, allowance_grams=1000)
    _, code = device_services.pairing_code_create(feeder=feeder, user=owner_of(feeder))
    _, _, token = device_services.feeder_pair(code=code, mac=feeder.mac, client="127.0.0.1")
    return feeder, pet, token


def slots_next_minute(feeder: Feeder, pet: Pet, count: int) -> tuple[dt.datetime, list[MealSchedule]]:
    """`count` schedules at the next whole minute at least 20 s away: `count` slots at once."""
    at = (timezone.now() + dt.timedelta(seconds=80)).replace(second=0, microsecond=0)
    schedules = [
        schedule_services.schedule_create(
            pet=pet,
            feeder=feeder,
            times=[at.strftime("%H:%M")],
            days_of_week=[1, 2, 3, 4, 5, 6, 7],
            grams=5,
            time_zone="UTC",
        )  # fmt: skip
        for _ in range(count)
    ]
    return at, schedules


def sleep_until(at: dt.datetime) -> None:
    time.sleep(max((at - timezone.now()).total_seconds(), 0))


def online(feeder: Feeder) -> bool:
    return Feeder.objects.get(pk=feeder.pk).is_online


def all_done(schedules: list[MealSchedule]) -> bool:
    done = FeedCommand.objects.filter(schedule__in=schedules, status=CommandStatus.DONE)
    return done.count() == len(schedules)


def test_every_slot_is_fed_once_across_a_cut_link_a_server_outage_and_a_flapping_link(
    whole_server: WholeServer, alice: User
) -> None:
    feeder, pet, token = home(alice)
    assert whole_server.port is not None
    proxy = TcpProxy(whole_server.port)
    served: list[MealSchedule] = []
    try:
        with LocalDevice(f"ws://127.0.0.1:{proxy.port}", token, grace=GRACE) as device:
            wait_until(lambda: online(feeder), timeout=20, what="device online")

            # 1. The link is cut across three slots.
            at, schedules = slots_next_minute(feeder, pet, 3)
            wait_until(lambda: device.local.version >= 3, timeout=20, what="schedule on the device")
            sleep_until(at - dt.timedelta(seconds=5))
            proxy.cut()
            sleep_until(at + dt.timedelta(seconds=GRACE + 3))
            proxy.restore()
            wait_until(lambda: all_done(schedules), timeout=60, interval=0.5, what="three slots reported")
            served += schedules

            # 2. The whole server is down across two more.
            at, schedules = slots_next_minute(feeder, pet, 2)
            wait_until(lambda: device.local.version >= 5, timeout=20, what="schedule on the device")
            sleep_until(at - dt.timedelta(seconds=5))
            whole_server.stop()
            sleep_until(at + dt.timedelta(seconds=GRACE + 3))
            whole_server.start()  # new processes, web on the same port
            wait_until(lambda: all_done(schedules), timeout=60, interval=0.5, what="two slots reported")
            served += schedules

            # 3. The link flaps every two seconds across one more.
            at, schedules = slots_next_minute(feeder, pet, 1)
            sleep_until(at - dt.timedelta(seconds=4))
            while timezone.now() < at + dt.timedelta(seconds=GRACE + 4):
                proxy.cut()
                time.sleep(2)
                proxy.restore()
                time.sleep(2)
            wait_until(lambda: all_done(schedules), timeout=60, interval=0.5, what="the last slot fed")
            served += schedules
            wait_until(lambda: online(feeder), timeout=20, what="device back online")
    finally:
        proxy.close()

    commands = FeedCommand.objects.filter(schedule__in=served)
    assert commands.count() == len(served) == 6  # one command per slot
    assert set(commands.values_list("status", flat=True)) == {CommandStatus.DONE}
    keys = Counter(key for key, _ in device.dispensed)
    assert sorted(keys) == sorted(str(key) for key in commands.values_list("slot_key", flat=True))
    assert set(keys.values()) == {1}  # each slot dispensed once
    fed = FeedEvent.objects.filter(command__in=commands)
    assert fed.count() == len(served)  # each recorded once
    for event in fed.select_related("command"):
        assert event.command is not None
        assert event.command.slot_at is not None
        late = (event.fed_at - event.command.slot_at).total_seconds()
        assert 0 <= late < 60, (event.command.slot_key, late)  # at its real time, not at the upload
    assert fed.filter(offline=True).count() >= 5  # the cut and the outage at least
    assert not Alert.objects.filter(kind=AlertKind.MEAL_MISSED).exists()
    assert Alert.objects.filter(kind=AlertKind.FEEDER_OFFLINE, subject__contains="on its own").exists()
