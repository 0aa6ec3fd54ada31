"""The bridge in a thread of the test process, and the households whose link the tests turn on."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from typing import Any

from apps.accounts.models import User
from apps.feeders.tests.factories import FeederFactory
from apps.homeassistant.bridge import Bridge
from apps.homeassistant.services import home_assistant_set
from apps.homeassistant.tests.mqtt import WAIT, HomeAssistant, Mosquitto
from apps.households.models import Household
from apps.households.tests.factories import household_of

PREFIX = "cf-test"


@contextlib.contextmanager
def running_bridge(mosquitto: Mosquitto, home_assistant: HomeAssistant) -> Iterator[Bridge]:
    """A bridge in a thread of its own, until the block ends; then it says offline and stops."""
    loop = asyncio.new_event_loop()
    bridge = Bridge(url=mosquitto.url, prefix=PREFIX)
    stop = asyncio.Event()
    thread = threading.Thread(target=loop.run_until_complete, args=(bridge.run(stop),), daemon=True)
    thread.start()
    home_assistant.wait(lambda: home_assistant.last.get(f"{PREFIX}/bridge/availability") == b"online", "the bridge")
    try:
        yield bridge
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(WAIT)
        loop.close()


def enabled(user: User) -> User:
    """The user's own household (their first; the factories put their rows there) with the link on, by them."""
    home_assistant_set(user=user, household_id=household_of(user).pk, enabled=True)
    return user


def feeder_of_enabled(user: User) -> Any:
    """A feeder of `user`, then the link turned on: factories announce no catalog change, so the
    bridge must find the feeder in the snapshot it takes when the link turns on, not before."""
    feeder = FeederFactory(owner=user)
    enabled(user)
    return feeder


def root(of: User | Household) -> str:
    """The topics' root of a household, or of a user's own household."""
    household = of if isinstance(of, Household) else household_of(of)
    return f"{PREFIX}/{household.pk}"
