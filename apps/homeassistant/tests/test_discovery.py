from __future__ import annotations

import datetime as dt
import json
import re

import pytest

from apps.homeassistant import discovery
from apps.homeassistant.discovery import FeederInfo, PetInfo, ScheduleInfo, Topics
from apps.homeassistant.tests.schema import problems

TOPICS = Topics(prefix="catfeeder", household_id=7)
FEEDER = FeederInfo(id=3, name="Kitchen", mac="AA:BB:CC:DD:EE:01", firmware_version="1.2.0")
PET = PetInfo(id=5, name="Milo")
SCHEDULE = ScheduleInfo(id=9, pet_id=5, label="07:30 · 20 g")
# <discovery_prefix>/<component>/<node_id>/<object_id>/config, ids of [a-zA-Z0-9_-]
CONFIG_TOPIC = re.compile(r"^catfeeder/7/(?P<platform>sensor|button|switch|event)/[\w-]+/[\w-]+/config$")


def every_config() -> dict[str, dict[str, object]]:
    return {
        **discovery.feeder_configs(TOPICS, FEEDER),
        **discovery.pet_configs(TOPICS, PET),
        **discovery.schedule_configs(TOPICS, SCHEDULE, PET),
    }


def test_every_config_validates_against_home_assistants_schema_for_its_platform() -> None:
    configs = every_config()
    platforms = set()
    for topic, config in configs.items():
        found = CONFIG_TOPIC.match(topic)
        assert found, topic
        platforms.add(found["platform"])
        assert problems(found["platform"], config) == [], topic
    assert platforms == {"sensor", "button", "switch", "event"}


def test_the_schema_check_refuses_what_home_assistant_would() -> None:
    config = discovery.feeder_configs(TOPICS, FEEDER)["catfeeder/7/button/feeder_3/feed_now/config"]
    assert problems("button", {**config, "state_topic": "x"}) == ["unknown key state_topic"]
    assert problems("sensor", {"name": "x"}) == ["missing state_topic"]
    assert problems("event", {**config, "event_types": "visit"})  # a list, not text


def test_each_entity_has_its_own_unique_id_and_a_device() -> None:
    configs = every_config().values()
    unique_ids = [c["unique_id"] for c in configs]
    assert len(unique_ids) == len(set(unique_ids))
    assert all(c["device"]["identifiers"] for c in configs)  # type: ignore[index]


def test_a_feeder_has_the_sensors_a_button_and_a_visit_event() -> None:
    objects = {topic.split("/")[-2] for topic in discovery.feeder_configs(TOPICS, FEEDER)}
    assert objects == {"food_level", "online", "last_seen", "signal", "last_command", "feed_now", "visit"}


def test_a_pet_has_its_sensors_and_a_feeding_event() -> None:
    objects = {topic.split("/")[-2] for topic in discovery.pet_configs(TOPICS, PET)}
    assert objects == {"eaten_today", "allowance_left", "last_feeding", "feeding"}


def test_every_entity_is_available_only_while_the_bridge_is() -> None:
    for config in every_config().values():
        assert config["availability"] == [
            {
                "topic": "catfeeder/bridge/availability",
                "payload_available": "online",
                "payload_not_available": "offline",
            }
        ]


def test_enum_sensors_list_their_options_and_carry_no_unit() -> None:
    for config in every_config().values():
        if config.get("device_class") == "enum":
            assert config["options"]
            assert "unit_of_measurement" not in config
            assert "state_class" not in config


def test_the_feed_now_button_orders_the_default_portion() -> None:
    config = discovery.feeder_configs(TOPICS, FEEDER)["catfeeder/7/button/feeder_3/feed_now/config"]
    assert config["command_topic"] == "catfeeder/7/feeder/3/feed"
    assert json.loads(config["payload_press"]) == {"grams": discovery.DEFAULT_PORTION}


def test_one_households_topics_are_all_under_its_own_root() -> None:
    other = Topics(prefix="catfeeder", household_id=8)
    mine = every_config()
    theirs = discovery.feeder_configs(other, FEEDER)
    for config in mine.values():
        for key in ("state_topic", "command_topic", "json_attributes_topic"):
            if key in config:
                assert str(config[key]).startswith("catfeeder/7/")
    assert all(topic.startswith("catfeeder/8/") for topic in theirs)


def test_unique_ids_name_the_row_only_so_they_stay_the_same_under_any_root() -> None:
    elsewhere = Topics(prefix="other", household_id=8)
    moved = {
        **discovery.feeder_configs(elsewhere, FEEDER),
        **discovery.pet_configs(elsewhere, PET),
        **discovery.schedule_configs(elsewhere, SCHEDULE, PET),
    }
    assert sorted(c["unique_id"] for c in moved.values()) == sorted(c["unique_id"] for c in every_config().values())
    assert {"catfeeder_feeder_3_food_level", "catfeeder_pet_5_eaten_today", "catfeeder_schedule_9"} <= {
        str(c["unique_id"]) for c in moved.values()
    }


@pytest.mark.parametrize(("online", "connection"), [(True, "online"), (False, "offline")])
def test_feeder_state_carries_what_the_sensors_read(online: bool, connection: str) -> None:
    seen = dt.datetime(2026, 1, 2, 3, 4, tzinfo=dt.UTC)
    state = discovery.feeder_state(online=online, food_level=40, last_seen=seen, signal=-60)
    assert state == {
        "connection": connection,
        "food_level": 40,
        "last_seen": "2026-01-02T03:04:00+00:00",
        "signal": -60,
    }
    keys = {
        re.search(r"value_json\.(\w+)", c["value_template"])[1]  # type: ignore[index]
        for t, c in discovery.feeder_configs(TOPICS, FEEDER).items()
        if c.get("state_topic") == TOPICS.feeder(3, "state")
    }
    assert keys == set(state)


def test_pet_state_carries_what_the_sensors_read() -> None:
    state = discovery.pet_state(eaten_today=30, allowance_left=50, last_feeding=None)
    keys = {
        re.search(r"value_json\.(\w+)", c["value_template"])[1]  # type: ignore[index]
        for c in discovery.pet_configs(TOPICS, PET).values()
        if c.get("state_topic") == TOPICS.pet(5, "state")
    }
    assert keys == set(state)
