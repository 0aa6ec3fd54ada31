from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from apps.feeders.clock import localize, next_slot, period_containing

PARIS = ZoneInfo("Europe/Paris")
UTC = dt.UTC
DAY = dt.timedelta(hours=24)


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def test_a_skipped_wall_time_maps_to_the_jump() -> None:
    # 2026-03-29: Paris clocks jump from 02:00 CET to 03:00 CEST (01:00 UTC).
    assert localize(dt.datetime(2026, 3, 29, 2, 30), PARIS)  # noqa: DTZ001 - a wall time == utc(2026, 3, 29, 1, 0)


def test_a_repeated_wall_time_maps_to_its_first_pass() -> None:
    # 2026-10-25: Paris clocks fall back from 03:00 CEST to 02:00 CET; 02:30 happens twice.
    assert localize(dt.datetime(2026, 10, 25, 2, 30), PARIS)  # noqa: DTZ001 - a wall time == utc(2026, 10, 25, 0, 30)


def test_a_daily_period_starts_at_the_anchor_in_local_time() -> None:
    period = period_containing(utc(2026, 6, 10, 4, 0), tz=PARIS, length=DAY, anchor=dt.time(7, 0))
    assert period.start == utc(2026, 6, 9, 5, 0)  # 07:00 CEST
    assert period.end == utc(2026, 6, 10, 5, 0)


def test_the_period_turns_exactly_at_the_anchor() -> None:
    before = period_containing(utc(2026, 6, 10, 4, 59, 59), tz=PARIS, length=DAY, anchor=dt.time(7, 0))
    at = period_containing(utc(2026, 6, 10, 5, 0), tz=PARIS, length=DAY, anchor=dt.time(7, 0))
    assert before.end == at.start == utc(2026, 6, 10, 5, 0)


def test_a_day_across_spring_forward_lasts_23_hours() -> None:
    period = period_containing(utc(2026, 3, 29, 12, 0), tz=PARIS, length=DAY, anchor=dt.time(0, 0))
    assert period.end - period.start == dt.timedelta(hours=23)


def test_a_day_across_fall_back_lasts_25_hours() -> None:
    period = period_containing(utc(2026, 10, 25, 12, 0), tz=PARIS, length=DAY, anchor=dt.time(0, 0))
    assert period.end - period.start == dt.timedelta(hours=25)


def test_the_repeated_hour_stays_in_one_period() -> None:
    hour = dt.timedelta(hours=1)
    first_pass = period_containing(utc(2026, 10, 25, 0, 30), tz=PARIS, length=hour, anchor=dt.time(0, 0))
    second_pass = period_containing(utc(2026, 10, 25, 1, 30), tz=PARIS, length=hour, anchor=dt.time(0, 0))
    assert first_pass == second_pass


def test_a_period_that_does_not_divide_a_day_is_stable() -> None:
    seven = dt.timedelta(hours=7)
    a = period_containing(utc(2026, 1, 5, 10, 0), tz=UTC, length=seven, anchor=dt.time(0, 0))  # type: ignore[arg-type]
    b = period_containing(a.end, tz=UTC, length=seven, anchor=dt.time(0, 0))  # type: ignore[arg-type]
    assert b.start == a.end
    assert a.start <= utc(2026, 1, 5, 10, 0) < a.end


def test_the_next_slot_skips_days_not_scheduled() -> None:
    # 2026-11-20 is a Friday; the schedule runs Mondays only.
    slot = next_slot(utc(2026, 11, 20, 12, 0), tz=PARIS, times=[dt.time(7, 30)], days_of_week={1})
    assert slot == utc(2026, 11, 23, 6, 30)


def test_a_meal_in_the_repeated_hour_is_served_once() -> None:
    first = next_slot(utc(2026, 10, 24, 12, 0), tz=PARIS, times=[dt.time(2, 30)], days_of_week=set(range(1, 8)))
    assert first == utc(2026, 10, 25, 0, 30)
    following = next_slot(first, tz=PARIS, times=[dt.time(2, 30)], days_of_week=set(range(1, 8)))  # type: ignore[arg-type]
    assert following == utc(2026, 10, 26, 1, 30)


def test_a_meal_in_the_skipped_hour_is_served_at_the_jump() -> None:
    slot = next_slot(utc(2026, 3, 28, 12, 0), tz=PARIS, times=[dt.time(2, 30)], days_of_week=set(range(1, 8)))
    assert slot == utc(2026, 3, 29, 1, 0)
