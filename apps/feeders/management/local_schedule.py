"""The simulator's firmware side of "local_schedule": its copy of the schedule, its slots, its queue.

What real firmware does (docs/protocol.md, "Meals offline"): keep the newest ScheduleSync; at each
slot, wait `local_grace` seconds for the server's FeedNow, then serve the meal itself; never serve a
slot twice, whoever asked; keep what it did while offline in order and upload it before anything else
when it is back.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from apps.feeders.clock import localize


@dataclass
class LocalSchedule:
    since: dt.datetime  # slots before this are not the device's to serve: it was not running
    version: int = -1
    meals: list[dict[str, Any]] = field(default_factory=list)
    grace: float = 60.0  # seconds, from ScheduleSync
    served: set[str] = field(default_factory=set)  # slot keys served, by a FeedNow or on its own
    queue: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (message, fields) to upload

    def take(self, sync: dict[str, Any]) -> bool:
        """Keep a ScheduleSync unless an edit committed later arrived first (a higher version)."""
        if sync["version"] < self.version:
            return False
        self.version, self.meals, self.grace = sync["version"], sync["meals"], float(sync["local_grace"])
        return True

    def due(self, now: dt.datetime) -> list[tuple[str, int]]:
        """(slot key, grams) of the slots whose grace is over without a FeedNow: to serve now."""
        found = []
        for meal in self.meals:
            tz = ZoneInfo(meal["time_zone"])
            today = now.astimezone(tz).date()
            for day in (today - dt.timedelta(days=1), today):
                at = localize(dt.datetime.combine(day, dt.time.fromisoformat(meal["time"])), tz)
                key = f"{meal['key']}@{day.isoformat()}"
                grace_over = at + dt.timedelta(seconds=self.grace) <= now
                if day.isoweekday() in meal["days"] and at >= self.since and grace_over and key not in self.served:
                    found.append((key, int(meal["grams"])))
        return found


@dataclass(frozen=True)
class OfflinePlan:
    """Windows of seconds from the start during which the device's link is down."""

    windows: list[tuple[float, float]]

    @classmethod
    def of(cls, offline_at: list[float], online_at: list[float]) -> OfflinePlan:
        if len(offline_at) != len(online_at) or any(b <= a for a, b in zip(offline_at, online_at, strict=True)):
            raise ValueError("give each --offline-at its --online-at, later than it")
        return cls(sorted(zip(offline_at, online_at, strict=True)))

    def offline(self, elapsed: float) -> bool:
        return any(start <= elapsed < end for start, end in self.windows)

    def back_in(self, elapsed: float) -> float:
        """Seconds until the link is up again (0 when it is up)."""
        return next((end - elapsed for start, end in self.windows if start <= elapsed < end), 0.0)

    def cut_in(self, elapsed: float) -> float | None:
        """Seconds until the next cut; None when there is none to come."""
        return next((start - elapsed for start, _ in self.windows if start > elapsed), None)
