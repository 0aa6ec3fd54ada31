"""The bridge against a real Mosquitto, with a paho client in Home Assistant's place.

The bridge runs in a thread of the test process with an event loop of its own, on the real
channel layer (the embedded Redis) and the test database: rows are committed, so these tests
use transactional_db. Each user's rows are in their own household (the factories'), whose link
`enabled` turns on; test_households.py has what households share and keep apart.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from apps.accounts.models import User
from apps.feeders.models import FeedCommand, FeedSource, MealSchedule
from apps.feeders.services.commands import feed_command_complete
from apps.feeders.services.devices import feeder_delete
from apps.feeders.tests.factories import FeederFactory, PetFactory, ScheduleFactory
from apps.homeassistant.bridge import RECONNECT_MAX, Bridge
from apps.homeassistant.services import home_assistant_set
from apps.homeassistant.tests.bridging import PREFIX, enabled, feeder_of_enabled, root, running_bridge
from apps.homeassistant.tests.mqtt import WAIT, HomeAssistant, Mosquitto
from apps.homeassistant.tests.schema import problems
from catfeeder.testing import wait_until

OUTAGE = float(os.environ.get("CHAOS_OUTAGE", "30"))  # seconds of broker outage, as the issue asks


def test_home_assistant_sees_every_entity_of_an_enabled_household_each_valid_for_its_platform(
    alice: User, home_assistant: HomeAssistant, mosquitto: Mosquitto, transactional_db: None, request: Any
) -> None:
    schedule = ScheduleFactory(pet=PetFactory(owner=enabled(alice)))
    request.getfixturevalue("bridge")
    expected = 7 + 4 + 1  # a feeder's entities, a pet's, a schedule's switch
    home_assistant.wait(lambda: len(home_assistant.configs(root(alice))) == expected, "every discovery config")
    for topic, config in home_assistant.configs(root(alice)).items():
        assert problems(topic.split("/")[2], config) == [], topic
    switch, feeder = f"{root(alice)}/schedule/{schedule.pk}/state", f"{root(alice)}/feeder/{schedule.feeder_id}/state"
    home_assistant.wait(lambda: switch in home_assistant.last and feeder in home_assistant.last, "the states")
    assert home_assistant.last[switch] == b"ON"
    state = home_assistant.json(feeder)
    assert state["connection"] == "offline"


def test_feed_now_from_home_assistant_is_a_command_with_its_source_and_feeding_updates_the_pet(
    alice: User, bridge: Bridge, home_assistant: HomeAssistant
) -> None:
    pet = PetFactory(owner=alice)
    feeder = FeederFactory(owner=alice)
    enabled(alice)
    state_topic = f"{root(alice)}/pet/{pet.pk}/state"
    home_assistant.wait(lambda: state_topic in home_assistant.last, "the pet's state")

    home_assistant.press(f"{root(alice)}/feeder/{feeder.pk}/feed", json.dumps({"grams": 15, "pet_id": pet.pk}))
    wait_until(lambda: FeedCommand.objects.filter(feeder=feeder).exists(), timeout=WAIT, what="the command")
    command = FeedCommand.objects.get(feeder=feeder)
    assert (command.source, command.grams, command.pet_id) == (FeedSource.HOME_ASSISTANT, 15, pet.pk)

    feed_command_complete(feeder=feeder, command_id=command.pk, done=True, grams_dispensed=15)
    home_assistant.wait(lambda: home_assistant.json(state_topic)["eaten_today"] == 15, "15 g eaten today")
    home_assistant.wait(lambda: f"{root(alice)}/pet/{pet.pk}/feeding" in home_assistant.last, "the feeding event")
    assert home_assistant.json(f"{root(alice)}/pet/{pet.pk}/feeding")["source"] == "home_assistant"


def test_a_press_over_the_allowance_is_refused_on_the_result_topic(
    alice: User, bridge: Bridge, home_assistant: HomeAssistant
) -> None:
    pet = PetFactory(owner=alice, allowance_grams=10)
    feeder = FeederFactory(owner=alice)
    enabled(alice)
    result = f"{root(alice)}/feeder/{feeder.pk}/result"
    home_assistant.wait(lambda: f"{root(alice)}/feeder/{feeder.pk}/state" in home_assistant.last, "the feeder")

    home_assistant.press(f"{root(alice)}/feeder/{feeder.pk}/feed", json.dumps({"grams": 20, "pet_id": pet.pk}))
    home_assistant.wait(lambda: result in home_assistant.last, "a result")
    assert home_assistant.json(result)["result"] == "refused"
    assert "may not eat 20 g" in home_assistant.json(result)["detail"]
    assert not FeedCommand.objects.filter(feeder=feeder).exists()


def test_a_schedule_switch_turns_the_schedule_off_and_on(
    alice: User, bridge: Bridge, home_assistant: HomeAssistant
) -> None:
    schedule = ScheduleFactory(pet=PetFactory(owner=alice))
    enabled(alice)
    state = f"{root(alice)}/schedule/{schedule.pk}/state"
    home_assistant.wait(lambda: home_assistant.last.get(state) == b"ON", "the switch on")

    home_assistant.press(f"{root(alice)}/schedule/{schedule.pk}/set", "OFF")
    home_assistant.wait(lambda: home_assistant.last.get(state) == b"OFF", "the switch off")
    assert MealSchedule.objects.get(pk=schedule.pk).enabled is False
    home_assistant.press(f"{root(alice)}/schedule/{schedule.pk}/set", "ON")
    home_assistant.wait(lambda: home_assistant.last.get(state) == b"ON", "the switch on again")
    assert MealSchedule.objects.get(pk=schedule.pk).enabled is True


def test_removing_a_feeder_clears_its_entities(alice: User, bridge: Bridge, home_assistant: HomeAssistant) -> None:
    kept, removed = FeederFactory(owner=alice), FeederFactory(owner=alice)
    enabled(alice)
    home_assistant.wait(lambda: len(home_assistant.configs(root(alice))) == 14, "both feeders")

    feeder_delete(feeder=removed)
    home_assistant.wait(lambda: len(home_assistant.configs(root(alice))) == 7, "one feeder")
    assert all(f"feeder_{kept.pk}/" in topic for topic in home_assistant.configs(root(alice)))


def test_turning_the_link_off_removes_the_households_entities(
    alice: User, bridge: Bridge, home_assistant: HomeAssistant
) -> None:
    feeder_of_enabled(alice)
    home_assistant.wait(lambda: len(home_assistant.configs(root(alice))) == 7, "the feeder")
    home_assistant_set(user=alice, household_id=None, enabled=False)
    home_assistant.wait(lambda: home_assistant.configs(root(alice)) == {}, "no entities")


def test_after_a_broker_restart_the_bridge_reconnects_and_publishes_everything_again(
    alice: User, bridge: Bridge, home_assistant: HomeAssistant, mosquitto: Mosquitto, tmp_path: Path
) -> None:
    feeder_of_enabled(alice)
    home_assistant.wait(lambda: len(home_assistant.configs(root(alice))) == 7, "the feeder")
    mosquitto.stop()
    with home_assistant.changed:
        home_assistant.last.clear()  # the new broker keeps nothing: what comes is published again
    again = Mosquitto(tmp_path, port=mosquitto.port)
    try:
        home_assistant.wait(lambda: len(home_assistant.configs(root(alice))) == 7, "the feeder again")
        assert home_assistant.last[f"{PREFIX}/bridge/availability"] == b"online"
    finally:
        again.stop()


def test_a_broker_stopped_for_an_outage_loses_nothing(
    alice: User, bridge: Bridge, home_assistant: HomeAssistant, mosquitto: Mosquitto, tmp_path: Path
) -> None:
    pet = PetFactory(owner=alice)
    feeder = FeederFactory(owner=alice)
    enabled(alice)
    root_topic, state_topic = root(alice), f"{root(alice)}/pet/{pet.pk}/state"
    home_assistant.wait(lambda: state_topic in home_assistant.last, "the pet's state")
    home_assistant.press(f"{root_topic}/feeder/{feeder.pk}/feed", json.dumps({"grams": 15, "pet_id": pet.pk}))
    wait_until(lambda: FeedCommand.objects.filter(feeder=feeder).exists(), timeout=WAIT, what="the command")

    mosquitto.stop()
    # The feeding happens while the broker is away: the bridge cannot publish it then.
    command = FeedCommand.objects.get(feeder=feeder)
    feed_command_complete(feeder=feeder, command_id=command.pk, done=True, grams_dispensed=15)
    time.sleep(OUTAGE)
    with home_assistant.changed:
        home_assistant.last.clear()  # the new broker keeps nothing: what comes is published again
    again = Mosquitto(tmp_path, port=mosquitto.port)
    try:
        # paho doubles its wait between tries up to RECONNECT_MAX: the next try may be that far off.
        online = f"{PREFIX}/bridge/availability"
        wait_until(lambda: home_assistant.last.get(online) == b"online", timeout=RECONNECT_MAX + WAIT, what="online")
        entities = 7 + 4  # a feeder's, a pet's
        home_assistant.wait(lambda: len(home_assistant.configs(root_topic)) == entities, "every entity again")
        home_assistant.wait(lambda: home_assistant.json(state_topic)["eaten_today"] == 15, "15 g eaten today")
        assert home_assistant.json(state_topic)["last_feeding"] is not None
        # Commands are heard again, and the one from before the outage was not run twice.
        home_assistant.press(f"{root_topic}/feeder/{feeder.pk}/feed", json.dumps({"grams": 5, "pet_id": pet.pk}))
        wait_until(lambda: FeedCommand.objects.filter(feeder=feeder).count() == 2, timeout=WAIT, what="a second")
        assert sorted(FeedCommand.objects.filter(feeder=feeder).values_list("grams", flat=True)) == [5, 15]
    finally:
        again.stop()


def test_what_was_deleted_while_the_bridge_was_stopped_leaves_home_assistant_when_it_starts(
    alice: User, bob: User, home_assistant: HomeAssistant, mosquitto: Mosquitto, transactional_db: None
) -> None:
    kept, gone = FeederFactory(owner=alice), FeederFactory(owner=alice)
    FeederFactory(owner=bob)
    enabled(alice), enabled(bob)
    with running_bridge(mosquitto, home_assistant):
        home_assistant.wait(lambda: len(home_assistant.configs(root(alice))) == 2 * 7, "alice's two feeders")
        home_assistant.wait(lambda: len(home_assistant.configs(root(bob))) == 7, "bob's feeder")
    # While no bridge runs, one feeder goes and Bob turns Home Assistant off: the broker keeps
    # their retained configs and states.
    feeder_delete(feeder=gone)
    home_assistant_set(user=bob, household_id=None, enabled=False)
    assert home_assistant.configs(root(bob)) != {}

    with running_bridge(mosquitto, home_assistant):
        home_assistant.wait(lambda: home_assistant.configs(root(bob)) == {}, "none of bob's entities")
        home_assistant.wait(lambda: len(home_assistant.configs(root(alice))) == 7, "alice's one feeder")
        assert all(f"/feeder_{kept.pk}/" in topic for topic in home_assistant.configs(root(alice)))
        retained_states = [t for t, p in home_assistant.last.items() if t.endswith("/state") and p]
        assert not [t for t in retained_states if f"/feeder/{gone.pk}/" in t or t.startswith(f"{root(bob)}/")]


def test_a_feed_command_left_retained_on_the_broker_feeds_once_not_at_every_start(
    alice: User, home_assistant: HomeAssistant, mosquitto: Mosquitto, transactional_db: None
) -> None:
    feeder = feeder_of_enabled(alice)
    topic = f"{root(alice)}/feeder/{feeder.pk}/feed"
    with running_bridge(mosquitto, home_assistant):
        home_assistant.wait(lambda: f"{root(alice)}/feeder/{feeder.pk}/state" in home_assistant.last, "the feeder")
        home_assistant.client.publish(topic, "10", qos=1, retain=True).wait_for_publish(WAIT)
        wait_until(lambda: FeedCommand.objects.filter(feeder=feeder).exists(), timeout=WAIT, what="the command")
    with home_assistant.changed:
        home_assistant.last.clear()
    with running_bridge(mosquitto, home_assistant):
        # The new bridge publishes its states after it subscribed: once one is here, a press is
        # heard. The broker handed it the retained press as it subscribed, before this live one,
        # and the bridge takes its work in arrival order: once the live press is a command, the
        # retained one has been seen and left alone.
        home_assistant.wait(lambda: f"{root(alice)}/feeder/{feeder.pk}/state" in home_assistant.last, "the state")
        home_assistant.press(topic, "5")
        wait_until(lambda: FeedCommand.objects.filter(feeder=feeder, grams=5).exists(), timeout=WAIT, what="5 g")
    assert sorted(FeedCommand.objects.filter(feeder=feeder).values_list("grams", flat=True)) == [5, 10]
