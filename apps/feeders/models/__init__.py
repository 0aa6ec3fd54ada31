from __future__ import annotations

from apps.feeders.models.access import FeederExclusion
from apps.feeders.models.devices import Beacon, Feeder
from apps.feeders.models.feeding import (
    OPEN_COMMAND,
    CommandStatus,
    FeedCommand,
    FeedEvent,
    FeedSource,
    MealSchedule,
)
from apps.feeders.models.pairing import DeviceToken, PairingCode
from apps.feeders.models.pets import Pet, Visit
from apps.feeders.models.photos import PetPhoto, PhotoStatus

__all__ = [
    "OPEN_COMMAND",
    "Beacon",
    "CommandStatus",
    "DeviceToken",
    "FeedCommand",
    "FeedEvent",
    "FeedSource",
    "Feeder",
    "FeederExclusion",
    "MealSchedule",
    "PairingCode",
    "Pet",
    "PetPhoto",
    "PhotoStatus",
    "Visit",
]
