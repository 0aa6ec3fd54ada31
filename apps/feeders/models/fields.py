"""Field helpers shared by the feeders models."""

from __future__ import annotations

import re
import zoneinfo

from django.core.exceptions import ValidationError

MAC_RE = re.compile(r"^[0-9A-F]{2}(:[0-9A-F]{2}){5}$")
MAC_INPUT_RE = re.compile(r"^[0-9A-Fa-f]{2}([:-]?[0-9A-Fa-f]{2}){5}$")


def normalize_mac(value: str) -> str:
    """'aa-bb-cc-dd-ee-ff', 'aabbccddeeff' or 'AA:BB:…' → 'AA:BB:CC:DD:EE:FF'."""
    value = value.strip()
    if not MAC_INPUT_RE.match(value):
        raise ValueError("not a MAC address (expected six hex pairs, e.g. AA:BB:CC:DD:EE:FF)")
    digits = re.sub(r"[:-]", "", value).upper()
    return ":".join(digits[i : i + 2] for i in range(0, 12, 2))


def validate_mac(value: str) -> None:
    if not MAC_RE.match(value):
        raise ValidationError("not a normalised MAC address (AA:BB:CC:DD:EE:FF)")


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"unknown time zone {value!r}")
