"""Home Assistant MQTT discovery: topics, configs and state payloads, as pure functions of plain data.

Every topic of a household is under `<MQTT_TOPIC_PREFIX>/<household id>/`, discovery configs
included: that root is the discovery prefix the household's Home Assistant is given, so a broker
ACL per household keeps one household's entities away from another's Home Assistant. Only the
bridge's own availability topic is shared; it says nothing about anybody's feeders.

Unique ids name the feeder, pet or schedule only (their ids are unique across households, and a
row never changes household): they stay the same whatever the topics' root, so Home Assistant
keeps an entity's id and history when the root changes.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

ONLINE, OFFLINE = "online", "offline"
DEFAULT_PORTION = 10  # grams the "Feed now" button orders; automations may publish their own amount
ORIGIN = {"name": "Cat Feeder"}

Config = dict[str, Any]


@dataclass(frozen=True)
class FeederInfo:
    id: int
    name: str
    mac: str
    firmware_version: str


@dataclass(frozen=True)
class PetInfo:
    id: int
    name: str


@dataclass(frozen=True)
class ScheduleInfo:
    id: int
    pet_id: int
    label: str  # "07:30, 18:00 · 20 g"


@dataclass(frozen=True)
class Topics:
    """Where one household's entities live."""

    prefix: str
    household_id: int

    @property
    def root(self) -> str:
        return f"{self.prefix}/{self.household_id}"

    @property
    def bridge(self) -> str:
        return bridge_availability_topic(self.prefix)

    def config(self, component: str, node: str, object_id: str) -> str:
        # HA's layout: <discovery_prefix>/<component>/<node_id>/<object_id>/config
        return f"{self.root}/{component}/{node}/{object_id}/config"

    def feeder(self, feeder_id: int, leaf: str) -> str:
        return f"{self.root}/feeder/{feeder_id}/{leaf}"

    def pet(self, pet_id: int, leaf: str) -> str:
        return f"{self.root}/pet/{pet_id}/{leaf}"

    def schedule(self, schedule_id: int, leaf: str) -> str:
        return f"{self.root}/schedule/{schedule_id}/{leaf}"


def bridge_availability_topic(prefix: str) -> str:
    return f"{prefix}/bridge/availability"


def command_subscriptions(prefix: str) -> list[str]:
    """What the bridge listens to: every household's feed and switch commands."""
    return [f"{prefix}/+/feeder/+/feed", f"{prefix}/+/schedule/+/set"]


def retained_subscriptions(prefix: str) -> list[str]:
    """Every topic under which the bridge leaves retained messages: configs, states and results.

    None of them overlaps a command subscription, so a broker never hands a command twice.
    """
    return [f"{prefix}/+/+/+/+/config", f"{prefix}/+/+/+/state", f"{prefix}/+/+/+/result"]


def topic_household(prefix: str, topic: str) -> int | None:
    """The household whose root holds `topic`, or None (the bridge's own topic, or another prefix)."""
    first = topic.removeprefix(f"{prefix}/").split("/", 1)[0] if topic.startswith(f"{prefix}/") else ""
    return int(first) if first.isdigit() else None


def _common(topics: Topics, unique_id: str, name: str, device: dict[str, Any]) -> Config:
    return {
        "unique_id": unique_id,
        "name": name,
        "device": device,
        "origin": ORIGIN,
        "availability": [{"topic": topics.bridge, "payload_available": ONLINE, "payload_not_available": OFFLINE}],
    }


def feeder_device(feeder: FeederInfo) -> dict[str, Any]:
    device: dict[str, Any] = {
        "identifiers": [f"catfeeder_feeder_{feeder.id}"],
        "connections": [["mac", feeder.mac.lower()]],
        "name": feeder.name,
        "manufacturer": "Cat Feeder",
        "model": "Feeder",
    }
    if feeder.firmware_version:
        device["sw_version"] = feeder.firmware_version
    return device


def pet_device(pet: PetInfo) -> dict[str, Any]:
    return {"identifiers": [f"catfeeder_pet_{pet.id}"], "name": pet.name, "manufacturer": "Cat Feeder", "model": "Pet"}


def _sensor(topics: Topics, uid: str, name: str, device: dict[str, Any], state: str, key: str, **extra: Any) -> Config:
    return {
        **_common(topics, uid, name, device),
        "state_topic": state,
        "value_template": f"{{{{ value_json.{key} }}}}",
        **extra,
    }


def feeder_configs(topics: Topics, feeder: FeederInfo) -> dict[str, Config]:
    """Discovery configs of a feeder's entities, by topic."""
    node, uid, device = f"feeder_{feeder.id}", f"catfeeder_feeder_{feeder.id}", feeder_device(feeder)
    state = topics.feeder(feeder.id, "state")
    sensors = {
        "food_level": _sensor(topics, f"{uid}_food_level", "Food level", device, state, "food_level",
                              unit_of_measurement="%", state_class="measurement", icon="mdi:bowl"),
        "online": _sensor(topics, f"{uid}_online", "Connection", device, state, "connection",
                          device_class="enum", options=[ONLINE, OFFLINE], entity_category="diagnostic"),
        "last_seen": _sensor(topics, f"{uid}_last_seen", "Last seen", device, state, "last_seen",
                             device_class="timestamp", entity_category="diagnostic"),
        "signal": _sensor(topics, f"{uid}_signal", "Signal", device, state, "signal", device_class="signal_strength",
                          unit_of_measurement="dBm", state_class="measurement", entity_category="diagnostic"),
        "last_command": _sensor(topics, f"{uid}_last_command", "Last command", device,
                                topics.feeder(feeder.id, "result"), "result",
                                json_attributes_topic=topics.feeder(feeder.id, "result")),
    }  # fmt: skip
    configs = {topics.config("sensor", node, key): config for key, config in sensors.items()}
    configs[topics.config("button", node, "feed_now")] = {
        **_common(topics, f"{uid}_feed_now", "Feed now", device),
        "command_topic": topics.feeder(feeder.id, "feed"),
        "payload_press": json.dumps({"grams": DEFAULT_PORTION}),
        "icon": "mdi:food-drumstick",
    }
    configs[topics.config("event", node, "visit")] = {
        **_common(topics, f"{uid}_visit", "Visit", device),
        "state_topic": topics.feeder(feeder.id, "visit"),
        "event_types": ["visit"],
    }
    return configs


def pet_configs(topics: Topics, pet: PetInfo) -> dict[str, Config]:
    node, uid, device = f"pet_{pet.id}", f"catfeeder_pet_{pet.id}", pet_device(pet)
    state = topics.pet(pet.id, "state")
    grams = {"unit_of_measurement": "g", "device_class": "weight"}
    sensors = {
        "eaten_today": _sensor(topics, f"{uid}_eaten_today", "Eaten today", device, state, "eaten_today",
                               state_class="total", **grams),
        "allowance_left": _sensor(topics, f"{uid}_allowance_left", "Allowance left", device, state,
                                  "allowance_left", state_class="measurement", **grams),
        "last_feeding": _sensor(topics, f"{uid}_last_feeding", "Last feeding", device, state, "last_feeding",
                                device_class="timestamp"),
    }  # fmt: skip
    configs = {topics.config("sensor", node, key): config for key, config in sensors.items()}
    configs[topics.config("event", node, "feeding")] = {
        **_common(topics, f"{uid}_feeding", "Feeding", device),
        "state_topic": topics.pet(pet.id, "feeding"),
        "event_types": ["fed"],
    }
    return configs


def schedule_configs(topics: Topics, schedule: ScheduleInfo, pet: PetInfo) -> dict[str, Config]:
    """A schedule is a switch on its pet's device: on, it feeds; off, it does not."""
    topic = topics.config("switch", f"pet_{pet.id}", f"schedule_{schedule.id}")
    return {
        topic: {
            **_common(topics, f"catfeeder_schedule_{schedule.id}", f"Meals {schedule.label}", pet_device(pet)),
            "command_topic": topics.schedule(schedule.id, "set"),
            "state_topic": topics.schedule(schedule.id, "state"),
            "payload_on": "ON",
            "payload_off": "OFF",
            "icon": "mdi:calendar-clock",
        }
    }


def _time(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def feeder_state(
    *, online: bool, food_level: int | None, last_seen: dt.datetime | None, signal: int | None
) -> dict[str, Any]:
    # None reaches Home Assistant as "None", which its MQTT sensors read as "unknown".
    connection = ONLINE if online else OFFLINE
    return {"connection": connection, "food_level": food_level, "last_seen": _time(last_seen), "signal": signal}


def pet_state(*, eaten_today: int, allowance_left: int, last_feeding: dt.datetime | None) -> dict[str, Any]:
    return {"eaten_today": eaten_today, "allowance_left": allowance_left, "last_feeding": _time(last_feeding)}


def switch_state(enabled: bool) -> str:
    return "ON" if enabled else "OFF"


def command_result(*, ok: bool, detail: str, command_id: int | None = None) -> dict[str, Any]:
    return {"result": "accepted" if ok else "refused", "detail": detail, "command_id": command_id}


def visit_event(*, pet_id: int | None, pet_name: str | None, seen_at: dt.datetime | None) -> dict[str, Any]:
    return {"event_type": "visit", "pet_id": pet_id, "pet": pet_name, "seen_at": _time(seen_at)}


def feeding_event(*, feeder_id: int, grams: int, source: str, fed_at: dt.datetime | None) -> dict[str, Any]:
    return {"event_type": "fed", "feeder_id": feeder_id, "grams": grams, "source": source, "fed_at": _time(fed_at)}
