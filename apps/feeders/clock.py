"""Local wall-clock arithmetic for allowance periods and meal slots.

Owners think in local time: "80 g a day, reset at 07:00", "breakfast at
07:30 on weekdays". Both are wall-clock rules, so a day across a DST change
lasts 23 or 25 hours. A wall time maps to *the first instant at which the
clock shows it or later*:
- in a fall-back fold (01:30 happens twice) that is the first pass, so a meal
  is served once and the repeated hour stays in one allowance period;
- in a spring-forward gap (02:30 never happens) it is the jump itself (03:00).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

UTC = dt.UTC
# Periods count from their anchor on this Monday, so a period that does not
# divide a day (say 7 h) still lands on the same instants every time.
PERIOD_ORIGIN = dt.date(2000, 1, 3)


def localize(wall: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    """The first instant at which the clock in `tz` shows `wall` or later, in UTC.

    UTC, because Python subtracts and compares two datetimes that share a
    tzinfo by their wall-clock values: a 25-hour day would measure 24 hours.
    """
    aware = wall.replace(tzinfo=tz, fold=0)
    if aware.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == wall:
        return aware.astimezone(UTC)
    # `wall` was skipped: find the jump between its two possible readings.
    low = wall.replace(tzinfo=tz, fold=1).astimezone(UTC)
    high = aware.astimezone(UTC)
    while high - low > dt.timedelta(seconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(tz).replace(tzinfo=None) >= wall:
            high = middle
        else:
            low = middle
    return high.replace(microsecond=0)  # tz transitions fall on whole seconds


@dataclass(frozen=True)
class Period:
    start: dt.datetime
    end: dt.datetime


def period_containing(now: dt.datetime, *, tz: ZoneInfo, length: dt.timedelta, anchor: dt.time) -> Period:
    """The allowance period around `now`: wall-clock steps of `length` from `anchor`."""
    wall = now.astimezone(tz).replace(tzinfo=None)
    origin = dt.datetime.combine(PERIOD_ORIGIN, anchor)
    start_wall = origin + ((wall - origin) // length) * length
    return Period(start=localize(start_wall, tz), end=localize(start_wall + length, tz))


def next_slot(after: dt.datetime, *, tz: ZoneInfo, times: list[dt.time], days_of_week: set[int]) -> dt.datetime | None:
    """The first meal slot strictly after `after` (ISO days: 1 = Monday)."""
    if not times or not days_of_week:
        return None
    start_day = after.astimezone(tz).date()
    for offset in range(8):  # a week and a day: every weekday and time comes round
        day = start_day + dt.timedelta(days=offset)
        if day.isoweekday() not in days_of_week:
            continue
        for time in sorted(times):
            slot = localize(dt.datetime.combine(day, time), tz)
            if slot > after:
                return slot
    return None
