"""A feeder's schedule as the feeder keeps it (`ScheduleSync`): versioned, pushed after every change.

Its own module, under everything that changes schedules (schedules.py, and pets.py, whose deleted
pet takes its schedules along), so that each of them can push the new version.
"""

from __future__ import annotations

from collections.abc import Collection

from django.db import models, transaction

from apps.feeders import events
from apps.feeders.models import Feeder
from apps.feeders.protocol import ScheduleSync
from apps.feeders.selectors.schedules import feeder_schedule, feeders_schedule


def feeder_schedule_changed(*, feeder_id: int) -> None:
    """A schedule of the feeder was added, changed or removed: a new version, pushed after commit to a
    feeder that keeps its schedule. Call it inside the transaction that made the change."""
    with transaction.atomic():
        # The row lock orders concurrent edits: each reads the schedules after the previous committed.
        Feeder.objects.filter(pk=feeder_id).update(schedule_version=models.F("schedule_version") + 1)
        found = feeder_schedule(feeder_id=feeder_id)
        if found is not None:
            events.schedule_to_device(feeder_id, events.schedule_sync(*found))


def feeder_schedule_sync(*, feeder_id: int) -> ScheduleSync | None:
    """What a feeder that keeps its schedule gets after Welcome; None for one that does not."""
    return feeders_schedule_sync(feeder_ids=[feeder_id]).get(feeder_id)


def feeders_schedule_sync(*, feeder_ids: Collection[int]) -> dict[int, ScheduleSync]:
    """feeder_schedule_sync of many feeders (those that keep their schedule), in two queries."""
    return {
        feeder_id: events.schedule_sync(*found) for feeder_id, found in feeders_schedule(feeder_ids=feeder_ids).items()
    }
