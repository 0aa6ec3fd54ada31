"""manage.py simulate_feeders with a link plan: the simulated feeder serves a meal on its own while its
link is down, then uploads it, and the server records it once, as fed offline."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.utils import timezone

from apps.accounts.services import user_get_or_create_verified
from apps.feeders.models import CommandStatus, FeedCommand, Feeder, FeedEvent
from apps.feeders.services import devices as device_services
from apps.feeders.services import pets as pet_services
from apps.feeders.services import schedules as schedule_services
from apps.feeders.tests.factories import owner_of
from apps.households.tests.factories import household_of
from catfeeder.testing import BASE_DIR, AsgiServer, process_env, wait_until

pytestmark = pytest.mark.long

GRACE = "2"  # seconds the feeder waits for a FeedNow before it serves a slot itself (MEAL_LOCAL_GRACE)


@pytest.fixture
def server(transactional_db: None, process_logs: Path) -> Iterator[AsgiServer]:
    web = AsgiServer(env=process_env(MEAL_LOCAL_GRACE=GRACE), log_dir=process_logs)
    yield web
    web.stop()


def test_a_simulated_feeder_cut_off_at_a_meal_serves_it_itself_and_uploads_it_once_back(server: AsgiServer) -> None:
    owner = user_get_or_create_verified(email="sim-offline@example.com", name="Owner")
    feeder = device_services.feeder_create(household=household_of(owner), name="Porch", mac="5E:00:00:00:02:01")
    pet = pet_services.pet_create(household=household_of(owner), name="Kit", allowance_grams=100)
    at = (timezone.now() + dt.timedelta(seconds=80)).replace(second=0, microsecond=0)  # 20 to 80 s away
    schedule_services.schedule_create(
        pet=pet, feeder=feeder, times=[at.strftime("%H:%M")], days_of_week=list(range(1, 8)), grams=15,
        time_zone="UTC",
    )  # fmt: skip
    _, code = device_services.pairing_code_create(feeder=feeder, user=owner_of(feeder))
    started = time.time()
    until = (at - timezone.now()).total_seconds()
    argv = [sys.executable, "manage.py", "simulate_feeders", "--code", code, "--mac", feeder.mac,
            "--url", server.ws_url, "--offline-at", f"{until - 8:.0f}", "--online-at", f"{until + 8:.0f}",
            "--duration", f"{until + 20:.0f}"]  # fmt: skip
    run = subprocess.Popen(argv, env=process_env(), cwd=BASE_DIR, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: Feeder.objects.get(pk=feeder.pk).is_online, timeout=30, what="the device online")
        output = run.communicate(timeout=until + 60 - (time.time() - started))[0].decode()
    finally:
        run.kill()
    assert run.returncode == 0, output
    command = FeedCommand.objects.get(feeder=feeder)
    assert (command.status, command.local) == (CommandStatus.DONE, True), output
    event = FeedEvent.objects.get(feeder=feeder)
    assert event.offline
    key = re.escape(str(command.slot_key))
    for line in (
        r"schedule +version \d+: 1 meals a day kept here",
        r"offline +link cut \(--offline-at\): serving meals on its own",
        rf"dispensed +15 g for slot {key}, on its own, queued",
        rf"uploaded +Fed {key}: acknowledged",
    ):
        assert re.search(line, output), f"{line!r} not in\n{output}"
