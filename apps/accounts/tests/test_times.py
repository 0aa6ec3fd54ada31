"""How an owner reads a moment: their zone, one format, a place's zone named."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.utils import timezone

from apps.accounts.times import when_text

AT = dt.datetime(2026, 12, 6, 13, 45, tzinfo=dt.UTC)


def test_a_moment_is_written_in_the_owner_zone() -> None:
    with timezone.override(ZoneInfo("America/New_York")):
        assert when_text(AT) == "Sun 6 Dec 08:45"


def test_a_time_of_a_place_in_another_zone_is_written_there_and_named() -> None:
    with timezone.override(ZoneInfo("America/New_York")):
        assert when_text(AT, zone="Europe/Paris") == "Sun 6 Dec 14:45 (Europe/Paris)"


def test_a_time_of_a_place_in_the_owner_zone_needs_no_name() -> None:
    with timezone.override(ZoneInfo("Europe/Paris")):
        assert when_text(AT, zone="Europe/Paris") == "Sun 6 Dec 14:45"
