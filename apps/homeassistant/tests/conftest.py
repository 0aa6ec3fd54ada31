"""A Mosquitto of each test's own, a client in Home Assistant's place, and a running bridge."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from apps.homeassistant.bridge import Bridge
from apps.homeassistant.tests.bridging import PREFIX, running_bridge
from apps.homeassistant.tests.mqtt import HomeAssistant, Mosquitto


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Mosquitto]:
    broker = Mosquitto(tmp_path)
    yield broker
    broker.stop()


@pytest.fixture
def home_assistant(mosquitto: Mosquitto) -> Iterator[HomeAssistant]:
    ha = HomeAssistant(mosquitto.port, PREFIX)
    yield ha
    ha.stop()


@pytest.fixture
def bridge(mosquitto: Mosquitto, home_assistant: HomeAssistant, transactional_db: None) -> Iterator[Bridge]:
    with running_bridge(mosquitto, home_assistant) as running:
        yield running
