"""The MQTT broker's check: a connection to a Mosquitto of the test's own, up and stopped."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from apps.homeassistant.tests.mqtt import Mosquitto
from apps.ops.health import Status, checks_registered, checks_run

TOKEN = "t0ken-for-the-scraper-0123456789"  # noqa: S105 - a test token


@pytest.fixture
def mosquitto(tmp_path: Path, settings: Any) -> Iterator[Mosquitto]:
    broker = Mosquitto(tmp_path)
    settings.MQTT_URL = broker.url
    yield broker
    broker.stop()


def test_the_broker_is_a_service_that_decides_no_readiness() -> None:
    [check] = [c for c in checks_registered() if c.name == "mqtt"]
    assert (check.critical, check.shown_in_ready, check.kind) == (False, False, "datastore")


def test_without_mqtt_url_the_check_says_not_configured_and_passes(settings: Any) -> None:
    settings.MQTT_URL = ""
    [result] = checks_run(names=["mqtt"])
    assert result.status is Status.OK
    assert result.detail.startswith("not configured")


def test_the_check_connects_to_the_broker_and_is_down_once_it_stops(mosquitto: Mosquitto) -> None:
    [up] = checks_run(names=["mqtt"])
    assert up.status is Status.OK, up.detail
    assert up.detail == f"127.0.0.1:{mosquitto.port}"
    mosquitto.stop()
    [down] = checks_run(names=["mqtt"])
    assert down.status is Status.DOWN
    assert "Connection refused" in down.detail


def test_a_broker_that_refuses_the_client_is_down_with_its_reason(tmp_path: Path, settings: Any) -> None:
    broker = Mosquitto(tmp_path, anonymous=False)
    settings.MQTT_URL = f"mqtt://nobody:wrong@127.0.0.1:{broker.port}"
    try:
        [result] = checks_run(names=["mqtt"])
    finally:
        broker.stop()
    assert result.status is Status.DOWN
    assert result.detail == f"127.0.0.1:{broker.port} refused: Not authorized"


@pytest.mark.django_db(transaction=True)
def test_a_stopped_broker_shows_in_health_and_leaves_readiness_alone(
    mosquitto: Mosquitto, client: Client, settings: Any
) -> None:
    settings.OPS_TOKEN = TOKEN
    mosquitto.stop()
    body = json.loads(client.get("/health", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content)
    [mqtt] = body["checks"]["mqtt:responseTime"]
    assert mqtt["status"] == "fail"
    assert body["status"] != "fail"  # not critical: Home Assistant's alone
    assert client.get("/health/ready").status_code == 200
