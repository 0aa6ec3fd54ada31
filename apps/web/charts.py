"""Chart geometry for inline SVG drawn by the templates: no chart library, no script.

Coordinates are in the SVG's own user units (the viewBox); the templates
scale the drawing to its box, so one geometry serves phone and desktop.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from apps.feeders.selectors.pets import DAY_MINUTES

if TYPE_CHECKING:
    from apps.feeders.models import Visit

WIDTH, HEIGHT = 600, 200  # viewBox of the daily chart
PLOT_TOP, PLOT_BOTTOM, PLOT_LEFT, PLOT_RIGHT = 20, 176, 48, 570  # leaves room for the axis labels
TIMELINE_ROW = 34  # height of one day in the visits timeline
TIMELINE_LEFT = 120  # room for the day's name left of its row
NICE_STEPS = (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10)  # axis maxima, times a power of ten
MINUTES_PER_UNIT = 2  # the timeline's x: 720 units for a day


@dataclass(frozen=True)
class Bar:
    day: dt.date
    grams: int
    x: float
    y: float
    width: float
    height: float
    over: bool  # more than the day's allowance

    @property
    def cx(self) -> float:
        return round(self.x + self.width / 2, 1)


@dataclass(frozen=True)
class Tick:
    y: float
    grams: int


@dataclass(frozen=True)
class DailyChart:
    bars: list[Bar]
    ticks: list[Tick]
    allowance_per_day: int
    allowance_y: float
    total: int
    labels: list[Bar]  # the bars whose date is written under the axis
    width: int = WIDTH
    height: int = HEIGHT
    left: int = PLOT_LEFT
    right: int = PLOT_RIGHT
    bottom: int = PLOT_BOTTOM

    @property
    def empty(self) -> bool:
        return self.total == 0


def _nice_top(value: int) -> int:
    """A round axis maximum at or above `value` (1, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 times a power of ten)."""
    if value <= 0:
        return 10
    power = 10 ** math.floor(math.log10(value))
    return int(math.ceil(next(step * power for step in NICE_STEPS if step * power >= value)))


def daily_chart(*, days: list[tuple[dt.date, int]], per_day: int) -> DailyChart:
    top = _nice_top(round(max([grams for _, grams in days] + [per_day, 1]) * 1.1))  # headroom above the line
    span = PLOT_BOTTOM - PLOT_TOP
    slot = (PLOT_RIGHT - PLOT_LEFT) / max(len(days), 1)

    def y(grams: int) -> float:
        return round(PLOT_BOTTOM - span * grams / top, 1)

    bars = [
        Bar(day=day, grams=grams, x=round(PLOT_LEFT + n * slot + slot * 0.15, 1), y=y(grams),
            width=round(slot * 0.7, 1), height=round(PLOT_BOTTOM - y(grams), 1), over=grams > per_day)
        for n, (day, grams) in enumerate(days)
    ]  # fmt: skip
    ticks = [Tick(y=y(top * n // 4), grams=top * n // 4) for n in range(5)]
    labels = [bar for n, bar in enumerate(bars) if n % 7 == (len(bars) - 1) % 7]  # weekly, ending today
    total = sum(grams for _, grams in days)
    return DailyChart(bars, ticks, per_day, y(per_day), total, labels)


@dataclass(frozen=True)
class TimelineDay:
    day: dt.date
    y: float
    marks: list[float]  # x of each visit: TIMELINE_LEFT + minutes since local midnight / MINUTES_PER_UNIT


@dataclass(frozen=True)
class Timeline:
    days: list[TimelineDay]
    count: int
    height: int
    left: int = TIMELINE_LEFT
    right: int = TIMELINE_LEFT + DAY_MINUTES // MINUTES_PER_UNIT
    width: int = TIMELINE_LEFT + DAY_MINUTES // MINUTES_PER_UNIT + 45
    hours: tuple[tuple[float, str], ...] = tuple(
        (TIMELINE_LEFT + h * 60 / MINUTES_PER_UNIT, f"{h:02d}:00") for h in (0, 6, 12, 18, 24)
    )


def visits_timeline(*, visits: list[Visit], tz: dt.tzinfo, today: dt.date, days: int = 7) -> Timeline:
    """One row per local day (newest on top), a mark per visit at its time of day."""
    rows = {today - dt.timedelta(days=n): n for n in range(days)}
    marks: dict[dt.date, list[float]] = {day: [] for day in rows}
    for visit in visits:
        local = visit.seen_at.astimezone(tz)
        if local.date() in marks:
            minutes = local.hour * 60 + local.minute + local.second / 60
            marks[local.date()].append(round(TIMELINE_LEFT + minutes / MINUTES_PER_UNIT, 1))
    timeline_days = [TimelineDay(day, n * TIMELINE_ROW + TIMELINE_ROW / 2, marks[day]) for day, n in rows.items()]
    return Timeline(timeline_days, sum(len(m) for m in marks.values()), days * TIMELINE_ROW + 28)
