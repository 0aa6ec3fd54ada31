"""Slot keys: the name of one scheduled meal on one day, the same on the server and on the feeder.

A schedule's meal key is "<schedule id>.<n>", its n-th time of the day (0-based, times sorted);
a slot is "<meal key>@<local date>", the date in the schedule's own time zone. A date, not an
instant, so that the feeder and the server never disagree on a DST gap or fold: the feeder knows
its local date, and the server finds the instant with clock.localize. The position, not the time,
so that a meal moved by an edit (07:30 -> 07:45) keeps its key: a meal served before the edit is not
served again after it. An edit that adds or removes times renumbers the later ones of that day.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from apps.feeders.clock import localize

# 18 digits: a schedule id always fits a bigint. 47 meals a day at most (one every half hour).
SLOT_PATTERN = r"^[1-9][0-9]{0,17}\.[0-9]{1,2}@[0-9]{4}-[0-9]{2}-[0-9]{2}$"
SLOT_RE = re.compile(SLOT_PATTERN)


@dataclass(frozen=True)
class SlotRef:
    schedule_id: int
    meal: int  # position in the schedule's sorted times
    day: dt.date  # in the schedule's time zone

    @property
    def key(self) -> str:
        return slot_key(self.schedule_id, self.meal, self.day)


def meal_key(schedule_id: int, meal: int) -> str:
    return f"{schedule_id}.{meal}"


def slot_key(schedule_id: int, meal: int, day: dt.date) -> str:
    return f"{meal_key(schedule_id, meal)}@{day.isoformat()}"


def slot_parse(text: str) -> SlotRef | None:
    """The parts of a slot key; None for text that is not one (or names no real date)."""
    if not SLOT_RE.match(text):
        return None
    meal, day = text.split("@")
    schedule_id, position = meal.split(".")
    try:
        return SlotRef(int(schedule_id), int(position), dt.date.fromisoformat(day))
    except ValueError:
        return None


def slot_instant(ref: SlotRef, *, times: list[str], tz: ZoneInfo) -> dt.datetime | None:
    """When the slot falls due (UTC) by the schedule's current times; None if it has no such meal now."""
    ordered = sorted(times)
    if ref.meal >= len(ordered):
        return None
    return localize(dt.datetime.combine(ref.day, dt.time.fromisoformat(ordered[ref.meal])), tz)


def slot_key_at(schedule_id: int, at: dt.datetime, *, times: list[str], tz: ZoneInfo) -> str | None:
    """The key of the slot that falls due at `at`; None if none of the times does.

    The day before is tried too: a time in a spring-forward gap just before midnight falls due
    on the next local day.
    """
    ordered = sorted(times)
    local_day = at.astimezone(tz).date()
    for day in (local_day, local_day - dt.timedelta(days=1)):
        for meal, text in enumerate(ordered):
            if localize(dt.datetime.combine(day, dt.time.fromisoformat(text)), tz) == at:
                return slot_key(schedule_id, meal, day)
    return None
