"""manage.py simulate_feeders against the real server: simulated devices pair, report, obey and say so."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from django.utils import timezone

from apps.accounts.services import user_get_or_create_verified
from apps.feeders.models import (
    CommandStatus,
    DeviceToken,
    FeedCommand,
    Feeder,
    FeedEvent,
    FeedSource,
    MealSchedule,
    Visit,
)
from apps.feeders.services import commands as command_services
from apps.feeders.services import devices as device_services
from apps.feeders.services import meals as meal_services
from apps.feeders.services import pets as pet_services
from apps.feeders.services import schedules as schedule_services
from apps.feeders.tests.factories import owner_of
from apps.households.tests.factories import household_of
from catfeeder.testing import BASE_DIR, AsgiServer, process_env, wait_until

OWNER = "sim-test@example.com"


def simulate(*args: str) -> subprocess.Popen[bytes]:
    argv = [sys.executable, "manage.py", "simulate_feeders", *args]
    return subprocess.Popen(argv, env=process_env(), cwd=BASE_DIR, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def test_simulated_feeders_pair_report_feed_and_answer_commands(asgi_server: AsgiServer) -> None:
    run = simulate("--count", "3", "--url", asgi_server.ws_url, "--owner", OWNER, "--duration", "8",
                   "--heartbeat", "1", "--visit-every", "0.5", "--eat-chance", "1", "--quiet")  # fmt: skip
    try:
        feeders = Feeder.objects.filter(household__memberships__user__email=OWNER)
        wait_until(lambda: feeders.filter(is_online=True).count() == 3, timeout=30, what="3 simulated feeders online")
        command = command_services.feed_command_create(feeder=feeders.first(), grams=7, source=FeedSource.OWNER)  # type: ignore[arg-type]
        wait_until(lambda: FeedCommand.objects.get(pk=command.pk).status == CommandStatus.DONE, timeout=30, what="done")
        output = run.communicate(timeout=60)[0].decode()
    finally:
        run.kill()
    assert run.returncode == 0, output
    assert "3 paired" in output
    assert len(output.splitlines()) == 2, output  # --quiet: the first line and the summary only
    assert (
        DeviceToken.objects.filter(feeder__household__memberships__user__email=OWNER, revoked_at__isnull=True).count()
        == 3
    )
    assert Visit.objects.filter(feeder__household__memberships__user__email=OWNER).count() >= 3
    assert FeedEvent.objects.filter(
        feeder__household__memberships__user__email=OWNER, source=FeedSource.DEVICE, grams=3
    ).exists()
    assert FeedEvent.objects.filter(command=command).count() == 1
    wait_until(lambda: not feeders.filter(is_online=True).exists(), timeout=15, what="offline after the run")


def deliver(command_ids: list[int]) -> None:
    """What the delivery task does, here in the test's process."""
    command_services.feed_commands_deliver(command_ids=command_ids)


def test_an_owners_device_tells_its_pairing_and_a_meal_line_by_line(asgi_server: AsgiServer) -> None:
    owner = user_get_or_create_verified(email=OWNER, name="Owner")
    feeder = device_services.feeder_create(household=household_of(owner), name="Kitchen", mac="5E:00:00:00:01:01")
    beacon = device_services.beacon_create(household=household_of(owner), name="Collar", mac="5C:00:00:00:01:01")
    pet = pet_services.pet_create(household=household_of(owner), name="Tom", beacon=beacon, allowance_grams=100)
    schedule = schedule_services.schedule_create(
        pet=pet, feeder=feeder, times=["07:00"], days_of_week=list(range(1, 8)), grams=25, time_zone="Europe/Paris"
    )
    _, code = device_services.pairing_code_create(feeder=feeder, user=owner_of(feeder))
    run = simulate("--code", code, "--mac", feeder.mac, "--collar", beacon.mac, "--url", asgi_server.ws_url,
                   "--duration", "8", "--visit-every", "0.5", "--eat-chance", "1")  # fmt: skip
    try:
        wait_until(lambda: Feeder.objects.get(pk=feeder.pk).is_online, timeout=30, what="the device online")
        wait_until(lambda: Visit.objects.filter(feeder=feeder).exists(), timeout=30, what="a visit")
        # The slot falls due now: the dispatcher makes the meal's command and delivers it.
        MealSchedule.objects.filter(pk=schedule.pk).update(next_run_at=timezone.now())
        meal_services.meal_slots_dispatch(enqueue=deliver)
        meal = FeedCommand.objects.get(schedule=schedule)
        wait_until(lambda: FeedCommand.objects.get(pk=meal.pk).status == CommandStatus.DONE, timeout=30, what="done")
        output = run.communicate(timeout=60)[0].decode()
    finally:
        run.kill()
    assert run.returncode == 0, output
    mac = re.escape(feeder.mac)
    for line in (
        rf"{mac} paired +with code {code}: device token received",
        rf"{mac} online +feeder {feeder.pk}, heartbeat every \d+ s",
        rf"{mac} visit +collar {beacon.mac}; a meal schedule feeds this pet: not eating between meals",
        rf"{mac} FeedNow +command {meal.pk}: 25 g, pet {pet.pk}",
        rf"{mac} dispensed +25 g for command {meal.pk}",
        rf"{mac} result +command {meal.pk} done, 25 g: acknowledged",
    ):
        assert re.search(rf"^\d\d:\d\d:\d\d {line}$", output, re.MULTILINE), f"{line!r} not in\n{output}"
    # The schedule feeds Tom: no snacks at the visits.
    assert " decision " not in output
    assert not FeedEvent.objects.filter(feeder=feeder, source=FeedSource.DEVICE).exists()


def test_pairing_one_device_needs_a_valid_feeder_mac() -> None:
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="--code needs --mac"):
        call_command("simulate_feeders", "--code", "ABCD-EFGH")
    with pytest.raises(CommandError, match="not a MAC address"):
        call_command("simulate_feeders", "--code", "ABCD-EFGH", "--mac", "5E:00", "--collar", "5C:00:00:00:00:01")
    with pytest.raises(CommandError, match="--eat-chance 0..1"):
        call_command("simulate_feeders", "--eat-chance", "2")
