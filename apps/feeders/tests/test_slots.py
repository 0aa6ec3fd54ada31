"""Slot keys: one name per scheduled meal and local day, the same on the feeder and the server."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from apps.feeders.slots import SlotRef, slot_instant, slot_key, slot_key_at, slot_parse

UTC = dt.UTC
NEW_YORK = ZoneInfo("America/New_York")


def test_a_slot_key_names_the_schedule_the_meal_of_the_day_and_the_local_date() -> None:
    key = slot_key(12, 1, dt.date(2026, 12, 7))
    assert key == "12.1@2026-12-07"
    assert slot_parse(key) == SlotRef(12, 1, dt.date(2026, 12, 7))
    assert slot_parse(key).key == key  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "text",
    ["", "12@2026-12-07", "0.1@2026-12-07", "12.1@2026-02-30", "1" * 19 + ".0@2026-12-07", "12.1@2026-12-07\x00"],
)
def test_text_that_is_no_slot_key_parses_to_nothing(text: str) -> None:
    assert slot_parse(text) is None


def test_the_key_of_a_slot_comes_from_its_position_among_the_sorted_times() -> None:
    at = dt.datetime(2026, 12, 7, 18, 0, tzinfo=UTC)
    assert slot_key_at(3, at, times=["18:00", "07:30"], tz=ZoneInfo("UTC")) == "3.1@2026-12-07"
    assert slot_key_at(3, at + dt.timedelta(minutes=1), times=["18:00"], tz=ZoneInfo("UTC")) is None


def test_a_time_skipped_by_dst_keeps_its_day_and_falls_due_at_the_jump() -> None:
    jump = dt.datetime(2026, 3, 8, 7, 0, tzinfo=UTC)  # 03:00 EDT, the first instant after 02:00 EST
    ref = SlotRef(5, 0, dt.date(2026, 3, 8))
    assert slot_instant(ref, times=["02:30"], tz=NEW_YORK) == jump
    assert slot_key_at(5, jump, times=["02:30"], tz=NEW_YORK) == "5.0@2026-03-08"


def test_a_time_repeated_by_dst_is_one_slot_at_its_first_pass() -> None:
    first = dt.datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # 01:30 EDT; 01:30 EST comes an hour later
    assert slot_instant(SlotRef(5, 0, dt.date(2026, 11, 1)), times=["01:30"], tz=NEW_YORK) == first
    assert slot_key_at(5, first, times=["01:30"], tz=NEW_YORK) == "5.0@2026-11-01"
    assert slot_key_at(5, first + dt.timedelta(hours=1), times=["01:30"], tz=NEW_YORK) is None


def test_a_meal_moved_by_an_edit_keeps_its_key_and_a_removed_one_has_no_instant() -> None:
    day = dt.date(2026, 12, 7)
    before = slot_key_at(9, dt.datetime(2026, 12, 7, 7, 30, tzinfo=UTC), times=["07:30"], tz=ZoneInfo("UTC"))
    after = slot_key_at(9, dt.datetime(2026, 12, 7, 7, 45, tzinfo=UTC), times=["07:45"], tz=ZoneInfo("UTC"))
    assert before == after == "9.0@2026-12-07"
    assert slot_instant(SlotRef(9, 1, day), times=["07:45"], tz=ZoneInfo("UTC")) is None
