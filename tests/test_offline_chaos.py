"""A feeder that keeps its schedule, cut off from the server: every slot fed exactly once, no "missed".

Real processes: a web server of this test's own (stopped and started again for an outage), the
device (tests.support.local_device) reaching it through a TCP proxy the test cuts, and this
process playing beat and worker (the dispatcher, the reconciler and the settling of unreported
slots every half second, deliveries through the channel layer to the web process). Slots are
schedule times, so each scenario waits for a minute's turn: three schedules at one minute are
three slots at once.

- the link is cut across three slots;
- the whole server (web, and beat with its worker) is down across two more;
- the link flaps every two seconds across one more.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from apps.accounts.models import User
from apps.feeders.models import CommandStatus, FeedCommand, Feeder, FeedEvent, MealSchedule, Pet
from apps.feeders.services import commands as command_services
from apps.feeders.services import devices as device_services
from apps.feeders.services import meals as meal_services
from apps.feeders.services import offline as offline_services
from apps.feeders.services import schedules as schedule_services
from apps.feeders.tests.factories import FeederFactory, PetFactory, owner_of
from apps.notifications.models import Alert, AlertKind
from catfeeder.testing import AsgiServer, process_env, wait_until
from tests.support.local_device import LocalDevice
from tests.support.tcp_proxy import TcpProxy

pytestmark = pytest.mark.long

GRACE = 3.0  # seconds the device waits for a FeedNow before it serves a slot itself


class Beat:
    """What beat and a worker do for meals, every half second, unless the server is down."""

    def __init__(self) -> None:
        self.up = threading.Event()
        self.up.set()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        try:
            while not self.stopping.wait(0.5):
                if self.up.is_set():
                    meal_services.meal_slots_dispatch(enqueue=command_services.feed_commands_deliver_here)
                    command_services.feed_commands_reconcile()
                    offline_services.slots_unreported_settle()
        finally:
            connection.close()  # this thread's own: the test database is dropped at the end


@pytest.fixture
def beat(transactional_db: None) -> Iterator[Beat]:
    beat = Beat()
    beat.thread.start()
    yield beat
    beat.stopping.set()
    beat.thread.join(10)


@pytest.fixture
def web(transactional_db: None, process_logs: Path) -> Iterator[list[AsgiServer]]:
    servers = [AsgiServer(env=process_env(), log_dir=process_logs)]
    yield servers  # the test appends the one it starts after the outage
    for server in servers:
        server.stop()


def home(user: User) -> tuple[Feeder, Pet, str]:
    feeder = FeederFactory(owner=user)
    pet = PetFactory(owner=user, allowance_grams=1000)
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
    web: list[AsgiServer], beat: Beat, alice: User
) -> None:
    feeder, pet, token = home(alice)
    proxy = TcpProxy(web[0].port)
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
            wait_until(lambda s=schedules: all_done(s), timeout=60, interval=0.5, what="three slots reported")
            served += schedules

            # 2. The whole server is down across two more.
            at, schedules = slots_next_minute(feeder, pet, 2)
            wait_until(lambda: device.local.version >= 5, timeout=20, what="schedule on the device")
            sleep_until(at - dt.timedelta(seconds=5))
            beat.up.clear()
            port = web[0].port
            web[0].stop()
            sleep_until(at + dt.timedelta(seconds=GRACE + 3))
            web.append(AsgiServer(env=process_env(), log_dir=web[0].log.parent, port=port))
            beat.up.set()
            wait_until(lambda s=schedules: all_done(s), timeout=60, interval=0.5, what="two slots reported")
            served += schedules

            # 3. The link flaps every two seconds across one more.
            at, schedules = slots_next_minute(feeder, pet, 1)
            sleep_until(at - dt.timedelta(seconds=4))
            while timezone.now() < at + dt.timedelta(seconds=GRACE + 4):
                proxy.cut()
                time.sleep(2)
                proxy.restore()
                time.sleep(2)
            wait_until(lambda s=schedules: all_done(s), timeout=60, interval=0.5, what="the last slot fed")
            served += schedules
            wait_until(lambda: online(feeder), timeout=20, what="device back online")
    finally:
        proxy.close()

    commands = FeedCommand.objects.filter(schedule__in=served)
    assert commands.count() == len(served) == 6  # one command per slot
    assert set(commands.values_list("status", flat=True)) == {CommandStatus.DONE}
    keys = Counter(key for key, _ in device.dispensed)
    assert sorted(keys) == sorted(commands.values_list("slot_key", flat=True))
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
