"""What the owner is told about meals: missed, over the allowance, and served again."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.utils import timezone

from apps.feeders.models import FeedCommand
from apps.feeders.selectors.allowance import pet_allowance
from apps.notifications.models import AlertKind
from apps.notifications.services import alert_close, alert_open


def meal_missed_alert(command: FeedCommand, *, now: dt.datetime) -> None:
    """One incident per schedule while its slots are missed; a fed slot ends it."""
    pet, feeder = command.pet, command.feeder
    when = timezone.localtime(command.slot_at, timezone=_zone(command)) if command.slot_at else now
    alert_open(
        owner=feeder.owner, kind=AlertKind.MEAL_MISSED, key=f"schedule:{command.schedule_id}",
        subject=f"{pet.name if pet else 'A'} meal was missed",
        detail=(f"The {when:%H:%M} meal of {pet.name if pet else 'your pet'} on {feeder.name} "
                f"({when:%Y-%m-%d}) was not served: {command.error}. "
                "Later meals are served as usual."),
        now=now,
    )  # fmt: skip


def allowance_alert(command: FeedCommand, *, now: dt.datetime) -> None:
    """One incident per pet and allowance period."""
    pet = command.pet
    if pet is None:
        return
    allowance = pet_allowance(pet=pet, now=command.slot_at or now)
    alert_open(
        owner=pet.owner, kind=AlertKind.ALLOWANCE_REACHED, key=f"pet:{pet.pk}:{allowance.period_start.isoformat()}",
        subject=f"{pet.name} has reached the food allowance",
        detail=(f"{pet.name} has eaten {allowance.eaten_grams} g of {allowance.allowance_grams} g this period; "
                f"a scheduled meal of {command.grams} g was not served. The allowance starts again at "
                f"{allowance.period_end:%Y-%m-%d %H:%M} UTC."),
        now=now,
    )  # fmt: skip


def _zone(command: FeedCommand) -> dt.tzinfo:
    return ZoneInfo(command.schedule.time_zone) if command.schedule else dt.UTC


def schedule_fed(*, command: FeedCommand, now: dt.datetime) -> None:
    """A scheduled meal was served: a missed-meal incident of its schedule is over."""
    if command.schedule_id is not None:
        alert_close(kind=AlertKind.MEAL_MISSED, key=f"schedule:{command.schedule_id}", now=now)
