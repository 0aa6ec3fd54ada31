"""manage.py simulate_feeders against the real server: simulated devices pair, report and obey."""

from __future__ import annotations

import subprocess
import sys

import pytest

from apps.feeders.models import CommandStatus, DeviceToken, FeedCommand, Feeder, FeedEvent, FeedSource, Visit
from apps.feeders.services import commands as command_services
from catfeeder.testing import BASE_DIR, AsgiServer, process_env, wait_until

OWNER = "sim-test@example.com"


def test_simulated_feeders_pair_report_feed_and_answer_commands(asgi_server: AsgiServer) -> None:
    argv = [sys.executable, "manage.py", "simulate_feeders", "--count", "3", "--url", asgi_server.ws_url,
            "--owner", OWNER, "--duration", "8", "--heartbeat", "1", "--visit-every", "0.5"]  # fmt: skip
    run = subprocess.Popen(argv, env=process_env(), cwd=BASE_DIR, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        feeders = Feeder.objects.filter(owner__email=OWNER)
        wait_until(lambda: feeders.filter(is_online=True).count() == 3, timeout=30, what="3 simulated feeders online")
        command = command_services.feed_command_create(feeder=feeders.first(), grams=7, source=FeedSource.OWNER)  # type: ignore[arg-type]
        wait_until(lambda: FeedCommand.objects.get(pk=command.pk).status == CommandStatus.DONE, timeout=30, what="done")
        output = run.communicate(timeout=60)[0].decode()
    finally:
        run.kill()
    assert run.returncode == 0, output
    assert "3 paired" in output
    assert DeviceToken.objects.filter(feeder__owner__email=OWNER, revoked_at__isnull=True).count() == 3
    assert Visit.objects.filter(feeder__owner__email=OWNER).count() >= 3
    assert FeedEvent.objects.filter(feeder__owner__email=OWNER, source=FeedSource.DEVICE).exists()
    assert FeedEvent.objects.filter(command=command).count() == 1
    wait_until(lambda: not feeders.filter(is_online=True).exists(), timeout=15, what="offline after the run")


def test_pairing_one_device_needs_a_valid_feeder_mac() -> None:
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="--code needs --mac"):
        call_command("simulate_feeders", "--code", "ABCD-EFGH")
    with pytest.raises(CommandError, match="not a MAC address"):
        call_command("simulate_feeders", "--code", "ABCD-EFGH", "--mac", "5E:00", "--collar", "5C:00:00:00:00:01")
