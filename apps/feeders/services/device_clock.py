"""A device's clock against the server's: measured at Hello and Heartbeat, applied to the times it reports.

The offset is the device's `device_time` minus the moment the server received it. It includes the
message's one-way transit, so a corrected time is late by at most that transit (plus whatever the
device's clock drifted since the last measure): seconds at worst, well inside an allowance period
and MEAL_LOCAL_GRACE. A clock off by more than FEEDER_CLOCK_MAX_OFFSET (an RTC-less device after a
power cut starts in 1970), or never measured, is not believed: the time is recorded as untrusted
(at the slot's own time for a scheduled meal, else at receipt), never refused.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings

from apps.feeders.models import Feeder

EARLIEST, LATEST = dt.datetime.min.replace(tzinfo=dt.UTC), dt.datetime.max.replace(tzinfo=dt.UTC)


def clock_offset(*, device_time: dt.datetime | None, now: dt.datetime) -> float | None:
    """Seconds the device's clock is ahead of the server's; None when the device sent no time."""
    return None if device_time is None else (device_time - now).total_seconds()


@dataclass(frozen=True)
class DeviceTime:
    at: dt.datetime  # the server's time for the moment reported
    trusted: bool


def device_time_correct(
    *, feeder: Feeder, reported: dt.datetime | None, now: dt.datetime, fallback: dt.datetime | None = None
) -> DeviceTime:
    """The server's time for a moment the device reported by its own clock; never later than `now`."""
    if reported is None:  # reported as it happened: now is the time
        return DeviceTime(now, trusted=True)
    bound = dt.timedelta(seconds=settings.FEEDER_CLOCK_MAX_OFFSET)
    offset = feeder.clock_offset
    # The years 1 and 9999 moved by an offset are no dates at all: such a time is not believed either.
    plausible = EARLIEST + bound < reported < LATEST - bound
    if offset is not None and abs(offset) <= bound.total_seconds() and plausible:
        corrected = reported - dt.timedelta(seconds=offset)
        # A time in the future past the bound: the clock jumped after it was measured.
        if corrected <= now + bound:
            return DeviceTime(min(corrected, now), trusted=True)
    return DeviceTime(min(fallback or now, now), trusted=False)
