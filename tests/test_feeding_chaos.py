"""kill -9 the Celery worker while it delivers scheduled meals: none lost, none fed twice.

Real processes throughout: the web server holding the device's socket, a worker
of this test's own (with tests.support.chaos loaded, which stops the delivering
process at the worst moments and reports its pid), and a device that dispenses.
Each round makes due slots, dispatches them, and SIGKILLs the process that
delivers one of them, either before or after it handed the command to the
channel layer. Most rounds kill the pool process (Celery rejects the task
back to the queue: acks late, reject on worker lost); every tenth kills the
whole worker, whose unacknowledged task waits for the broker's visibility
timeout or the reconciler, and starts a new worker.

CHAOS_KILLS rounds (20 here; `make soak` runs 100).
"""

from __future__ import annotations

import json
import os
import signal
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import pytest
from django.utils import timezone

from apps.accounts.models import User
from apps.feeders.models import CommandStatus, FeedCommand, Feeder, FeedEvent, MealSchedule, Pet
from apps.feeders.services import commands as command_services
from apps.feeders.services import devices as device_services
from apps.feeders.services import meals as meal_services
from apps.feeders.services import schedules as schedule_services
from apps.feeders.tests.factories import FeederFactory, PetFactory, owner_of
from apps.ops.redis import redis_client
from catfeeder.testing import AsgiServer, CeleryWorker, process_env, wait_until
from tests.support.chaos import KILLS, VICTIMS
from tests.support.devices import AutoDevice

pytestmark = pytest.mark.long

ROUNDS = int(os.environ.get("CHAOS_KILLS", "20"))
SLOTS_PER_ROUND = 3


@dataclass
class Home:
    feeder: Feeder
    pet: Pet
    device_token: str


def paired_home(user: User) -> Home:
    feeder = FeederFactory(owner=user)
    pet = PetFactory(owner=user, allowance_grams=100_000)
    _, code = device_services.pairing_code_create(feeder=feeder, user=owner_of(feeder))
    _, _, token = device_services.feeder_pair(code=code, mac=feeder.mac, client="127.0.0.1")
    return Home(feeder, pet, token)


class ChaosWorker:
    def __init__(self, *, queue: str, log_dir: Path) -> None:
        self.queue, self.log_dir = queue, log_dir
        # A short visibility timeout: a task of a worker killed whole comes back in seconds.
        self.env = process_env(FEED_COMMAND_QUEUE=queue, CELERY_VISIBILITY_TIMEOUT="5")
        self.worker = self.start()

    def start(self) -> CeleryWorker:
        args = ("--include", "tests.support.chaos")
        return CeleryWorker(env=self.env, log_dir=self.log_dir, queues=[self.queue], args=args)

    def kill_whole(self) -> None:
        main = psutil.Process(self.worker.popen.pid)
        for process in [*main.children(recursive=True), main]:
            process.kill()
        self.worker.popen.wait()
        self.worker = self.start()

    def stop(self) -> None:
        self.worker.stop()


@pytest.fixture
def chaos_worker(transactional_db: None, process_logs: Path, settings: Any) -> Iterator[ChaosWorker]:
    queue = f"deliveries-{uuid.uuid4().hex[:8]}"
    settings.FEED_COMMAND_QUEUE = queue  # this process dispatches: its deliveries go to that worker only
    redis_client().delete(KILLS, VICTIMS)
    worker = ChaosWorker(queue=queue, log_dir=process_logs)
    yield worker
    worker.stop()
    redis_client().delete(KILLS, VICTIMS)


def due_slots(home: Home, count: int) -> list[MealSchedule]:
    now = timezone.now()
    schedules = []
    for _ in range(count):
        schedule = schedule_services.schedule_create(
            pet=home.pet, feeder=home.feeder, times=["12:00"], days_of_week=[1, 2, 3, 4, 5, 6, 7], grams=1,
            time_zone="UTC",
        )  # fmt: skip
        MealSchedule.objects.filter(pk=schedule.pk).update(next_run_at=now)  # due now
        schedules.append(schedule)
    return schedules


def all_done(schedules: list[MealSchedule]) -> bool:
    command_services.feed_commands_reconcile()  # what beat runs every few seconds
    done = FeedCommand.objects.filter(schedule__in=schedules, status=CommandStatus.DONE)
    return done.count() == len(schedules)


def test_killing_the_worker_while_it_delivers_loses_no_meal_and_feeds_none_twice(
    asgi_server: AsgiServer, chaos_worker: ChaosWorker, alice: User, settings: Any
) -> None:
    settings.COMMAND_RESEND_AFTER = 2  # seconds: the reconciler's turn comes quickly
    home = paired_home(alice)
    client = redis_client()
    kills = []
    with AutoDevice(asgi_server.ws_url, home.device_token) as device:
        wait_until(lambda: Feeder.objects.get(pk=home.feeder.pk).is_online, timeout=20, what="device online")
        for round_ in range(ROUNDS):
            schedules = due_slots(home, SLOTS_PER_ROUND)
            client.rpush(KILLS, "after" if round_ % 2 else "before")
            assert meal_services.meal_slots_dispatch().pending == SLOTS_PER_ROUND
            popped = client.blpop([VICTIMS], timeout=60)
            assert popped is not None, chaos_worker.worker.output()[-3000:]
            victim = json.loads(popped[1])
            if round_ % 10 == 9:
                chaos_worker.kill_whole()
            else:
                os.kill(victim["pid"], signal.SIGKILL)
            kills.append(victim)
            wait_until(lambda s=schedules: all_done(s), timeout=60, interval=0.5, what=f"round {round_} fed")

    slots = ROUNDS * SLOTS_PER_ROUND
    commands = FeedCommand.objects.filter(feeder=home.feeder)
    assert len(kills) == ROUNDS
    assert commands.count() == slots  # one command per slot
    assert set(commands.values_list("status", flat=True)) == {CommandStatus.DONE}  # 0 lost
    assert FeedEvent.objects.filter(feeder=home.feeder).count() == slots  # 0 fed twice
    assert sorted(device.dispensed) == sorted(commands.values_list("pk", flat=True))
    assert len(set(device.dispensed)) == len(device.dispensed)
    assert {k["command_id"] for k in kills} <= set(device.dispensed)  # the killed deliveries were fed too
