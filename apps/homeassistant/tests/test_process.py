"""The bridge as `serve` runs it: its own process, `manage.py homeassistant`, started only with MQTT_URL."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from apps.homeassistant.tests.mqtt import WAIT, HomeAssistant, Mosquitto
from catfeeder.runtime.serve import ServeCommand
from catfeeder.settings.catalog import mask
from catfeeder.settings.variables import BY_NAME
from catfeeder.testing import Process, process_env

OPTIONS = {"web_workers": 1, "concurrency": 1, "reload": False}


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Mosquitto]:
    broker = Mosquitto(tmp_path)
    yield broker
    broker.stop()


def test_serve_starts_the_bridge_only_when_mqtt_url_is_set(settings: Any) -> None:
    settings.EMBEDDED_REDIS = False
    settings.MQTT_URL = ""
    assert "homeassistant" not in [spec.name for spec in ServeCommand().children([3], OPTIONS)]
    settings.MQTT_URL = "mqtt://broker.example.com:1883"
    [bridge] = [spec for spec in ServeCommand().children([3], OPTIONS) if spec.name == "homeassistant"]
    assert bridge.argv[-1] == "homeassistant"


def test_the_bridge_process_says_online_then_offline_when_stopped(
    mosquitto: Mosquitto, tmp_path: Path, transactional_db: None
) -> None:
    ha = HomeAssistant(mosquitto.port, "cf-process")
    env = process_env(MQTT_URL=mosquitto.url, MQTT_TOPIC_PREFIX="cf-process")
    bridge = Process("homeassistant", [sys.executable, "manage.py", "homeassistant"], env=env, log_dir=tmp_path)
    try:
        ha.wait(lambda: ha.last.get("cf-process/bridge/availability") == b"online", "the bridge online")
        assert bridge.stop(timeout=WAIT) == 0
        ha.wait(lambda: ha.last.get("cf-process/bridge/availability") == b"offline", "the bridge offline")
    finally:
        bridge.stop()
        ha.stop()


def test_without_mqtt_url_the_command_says_what_is_missing(tmp_path: Path) -> None:
    env = process_env(MQTT_URL="")
    bridge = Process("homeassistant", [sys.executable, "manage.py", "homeassistant"], env=env, log_dir=tmp_path)
    assert bridge.popen.wait(WAIT * 3) != 0
    assert "MQTT_URL is not set" in bridge.output()


def test_a_killed_bridge_is_offline_through_its_last_will(
    mosquitto: Mosquitto, tmp_path: Path, transactional_db: None
) -> None:
    ha = HomeAssistant(mosquitto.port, "cf-will")
    env = process_env(MQTT_URL=mosquitto.url, MQTT_TOPIC_PREFIX="cf-will")
    bridge = Process("homeassistant", [sys.executable, "manage.py", "homeassistant"], env=env, log_dir=tmp_path)
    try:
        ha.wait(lambda: ha.last.get("cf-will/bridge/availability") == b"online", "the bridge online")
        bridge.popen.kill()  # no goodbye: the broker publishes the will when the connection drops
        bridge.popen.wait(WAIT)
        ha.wait(lambda: ha.last.get("cf-will/bridge/availability") == b"offline", "the last will")
    finally:
        bridge.stop()
        ha.stop()


def test_the_brokers_password_is_masked_where_settings_are_shown() -> None:
    masked = mask(BY_NAME["MQTT_URL"], "mqtts://bridge:s3cret@broker.example.com:8883")
    assert "s3cret" not in masked
    assert masked.startswith("mqtts://bridge:")


@pytest.mark.parametrize("url", ["http://broker:1883", "redis://broker:6379", "mqtt://"])
def test_mqtt_url_must_be_an_mqtt_address(url: str) -> None:
    with pytest.raises(ValueError, match="mqtt"):
        BY_NAME["MQTT_URL"].validate(url)
