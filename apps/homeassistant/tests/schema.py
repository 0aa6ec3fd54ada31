"""Home Assistant's MQTT discovery schema, as documented, for the platforms the bridge publishes.

Written down from home-assistant.io/integrations/{sensor,button,switch,event}.mqtt and the MQTT
integration's discovery page (device, availability, origin). Keys are the full names (the
abbreviations are optional and not used here). Values are the types HA's voluptuous schema takes.
"""

from __future__ import annotations

from typing import Any

# Keys every MQTT entity accepts (the "common" options of each platform page).
COMMON: dict[str, type | tuple[type, ...]] = {
    "availability": list,
    "availability_mode": str,
    "availability_template": str,
    "availability_topic": str,
    "device": dict,
    "enabled_by_default": bool,
    "encoding": str,
    "entity_category": str,
    "entity_picture": str,
    "icon": str,
    "json_attributes_template": str,
    "json_attributes_topic": str,
    "name": (str, type(None)),
    "default_entity_id": str,
    "object_id": str,
    "origin": dict,
    "payload_available": str,
    "payload_not_available": str,
    "qos": int,
    "unique_id": str,
}

PLATFORMS: dict[str, dict[str, Any]] = {
    "sensor": {
        "required": {"state_topic"},
        "keys": {
            "state_topic": str, "device_class": str, "expire_after": int, "force_update": bool,
            "last_reset_value_template": str, "options": list, "suggested_display_precision": int,
            "state_class": str, "unit_of_measurement": str, "value_template": str,
        },
    },
    "button": {
        "required": {"command_topic"},
        "keys": {
            "command_topic": str, "command_template": str, "device_class": str, "payload_press": str, "retain": bool,
        },
    },
    "switch": {
        "required": set(),
        "keys": {
            "command_topic": str, "command_template": str, "device_class": str, "optimistic": bool,
            "payload_off": str, "payload_on": str, "retain": bool, "state_off": str, "state_on": str,
            "state_topic": str, "value_template": str,
        },
    },
    "event": {
        "required": {"state_topic", "event_types"},
        "keys": {"state_topic": str, "event_types": list, "device_class": str, "value_template": str},
    },
}  # fmt: skip

DEVICE_KEYS = {
    "configuration_url", "connections", "hw_version", "identifiers", "manufacturer", "model", "model_id", "name",
    "serial_number", "suggested_area", "sw_version", "via_device",
}  # fmt: skip
AVAILABILITY_KEYS = {"topic", "payload_available", "payload_not_available", "value_template"}
ORIGIN_KEYS = {"name", "sw_version", "support_url"}
SENSOR_STATE_CLASSES = {"measurement", "measurement_angle", "total", "total_increasing"}
ENTITY_CATEGORIES = {"config", "diagnostic"}


def problems(platform: str, config: dict[str, Any]) -> list[str]:
    """What HA's schema would refuse in `config`; empty when it validates."""
    spec = PLATFORMS[platform]
    allowed = {**COMMON, **spec["keys"]}
    found = [f"missing {key}" for key in sorted(spec["required"] - set(config))]
    for key, value in config.items():
        if key not in allowed:
            found.append(f"unknown key {key}")
        elif not isinstance(value, allowed[key]):
            found.append(f"{key}: {type(value).__name__}")
    found += _device(config.get("device"))
    for item in config.get("availability", []):
        found += [f"availability: unknown key {k}" for k in set(item) - AVAILABILITY_KEYS]
        found += [] if "topic" in item else ["availability: missing topic"]
    found += [f"origin: unknown key {k}" for k in set(config.get("origin", {})) - ORIGIN_KEYS]
    if "state_class" in config and config["state_class"] not in SENSOR_STATE_CLASSES:
        found.append(f"state_class {config['state_class']}")
    if "entity_category" in config and config["entity_category"] not in ENTITY_CATEGORIES:
        found.append(f"entity_category {config['entity_category']}")
    if "device" in config and "unique_id" not in config:
        found.append("device info needs a unique_id")
    return found


def _device(device: dict[str, Any] | None) -> list[str]:
    if device is None:
        return []
    found = [f"device: unknown key {k}" for k in set(device) - DEVICE_KEYS]
    if not device.get("identifiers") and not device.get("connections"):
        found.append("device: needs identifiers or connections")
    return found
