"""The one way an owner reads a moment: in their own time zone (the active one),
or in the zone of the place it belongs to (a pet's period, a schedule's meal),
named when that is not the owner's. static/js/live.js writes the same text."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.utils import formats, timezone

# Django date format: "Sun 6 Dec 13:45". live.js builds these parts with Intl.DateTimeFormat.
WHEN_FORMAT = "D j M H:i"


def when_zone(zone: str | None) -> str | None:
    """The zone to name next to a time: `zone` when it differs from the owner's (the active zone)."""
    return zone if zone and zone != timezone.get_current_timezone_name() else None


def when_text(value: dt.datetime, *, zone: str | None = None) -> str:
    """`value` as the owner reads it; in `zone`, and labelled with it, when that is another zone."""
    named = when_zone(zone)
    local = timezone.localtime(value, ZoneInfo(named) if named else None)
    text = formats.date_format(local, WHEN_FORMAT)
    return f"{text} ({named})" if named else text


def when_text_for(value: dt.datetime, *, reader: str, zone: str | None = None) -> str:
    """when_text for an owner whose zone no request activated (mails built by the worker)."""
    with timezone.override(ZoneInfo(reader)):
        return when_text(value, zone=zone)
