from __future__ import annotations

from apps.feeders.models.devices import Beacon, Feeder
from apps.feeders.models.feeding import CommandStatus, FeedCommand, FeedEvent, FeedSource, MealSchedule
from apps.feeders.models.pets import Pet, Visit

__all__ = [
    "Beacon",
    "CommandStatus",
    "FeedCommand",
    "FeedEvent",
    "FeedSource",
    "Feeder",
    "MealSchedule",
    "Pet",
    "Visit",
]
