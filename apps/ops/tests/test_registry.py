from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from apps.ops.health import Check, Outcome, Status, checks_registered, checks_run, overall_status, worst_status
from apps.ops.tests.conftest import register
from catfeeder.testing import free_port

BUILTIN = {"database", "cache", "broker", "channel_layer", "workers", "beat", "storage", "mail", "mqtt", "web"}


def test_every_service_has_one_check() -> None:
    assert {c.name for c in checks_registered()} >= BUILTIN


def test_a_check_that_hangs_is_down_within_its_own_timeout(extra_check: list[str]) -> None:
    release = threading.Event()
    register(
        extra_check, Check("stuck", lambda: (release.wait(30), Outcome(Status.OK))[1], critical=False, timeout=0.3)
    )
    started = time.monotonic()
    [result] = checks_run(names=["stuck"])
    release.set()
    assert result.status is Status.DOWN
    assert result.detail == "no answer within 0.3s"
    assert time.monotonic() - started < 5  # bounded by the check's timeout, not by the hang


def test_a_check_that_raises_is_down_with_the_reason(extra_check: list[str]) -> None:
    def broken() -> Outcome:
        raise ConnectionRefusedError("nobody listens")

    register(extra_check, Check("broken", broken, critical=False, timeout=1))
    [result] = checks_run(names=["broken"])
    assert result.status is Status.DOWN
    assert "ConnectionRefusedError: nobody listens" in result.detail


@pytest.mark.django_db(transaction=True)
def test_the_builtin_checks_pass_against_the_real_services() -> None:
    results = {r.name: r for r in checks_run(names=["database", "cache", "broker", "channel_layer", "storage", "mail"])}
    assert {name: r.status for name, r in results.items()} == dict.fromkeys(results, Status.OK)
    assert results["channel_layer"].detail == "round trip"
    assert "celery" in results["broker"].data["queues"]


def test_only_a_critical_check_down_makes_the_whole_down(extra_check: list[str]) -> None:
    register(extra_check, Check("optional", lambda: Outcome(Status.DOWN), critical=False, timeout=1))
    register(extra_check, Check("vital", lambda: Outcome(Status.OK), critical=True, timeout=1))
    results = checks_run(names=["optional", "vital"])
    assert overall_status(results) is Status.DEGRADED
    assert worst_status(results) is Status.DOWN

    register(extra_check, Check("vital", lambda: Outcome(Status.DOWN), critical=True, timeout=1))
    assert overall_status(checks_run(names=["optional", "vital"])) is Status.DOWN


@pytest.mark.django_db(transaction=True)
def test_a_dead_server_of_a_sharded_channel_layer_is_down_by_its_number(settings: Any) -> None:
    # The layer itself stays on the live server: its round trip passes, so only the PING can tell.
    settings.CHANNEL_REDIS_URLS = [settings.REDIS_URL, f"redis://127.0.0.1:{free_port()}/0"]
    [result] = checks_run(names=["channel_layer"])
    assert (result.status, result.detail) == (Status.DOWN, "no answer from server 2 of 2 (ConnectionError)")

    settings.CHANNEL_REDIS_URLS = [settings.REDIS_URL, settings.REDIS_URL]
    [result] = checks_run(names=["channel_layer"])
    assert (result.status, result.detail) == (Status.OK, "round trip")
