"""What a household's members are told (each as their own preferences say): meals missed, over the allowance or served
again; feeders offline or low on food.

The alerts_check job opens and closes the feeder alerts; notifications keeps the
incidents and mails their owners, and knows nothing of feeders.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

from django.conf import settings
from django.db.models import CharField, Exists, OuterRef, Q, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone

from apps.accounts.models import User
from apps.accounts.times import when_text_for
from apps.feeders.models import FeedCommand, Feeder
from apps.feeders.selectors.allowance import pet_allowance
from apps.households.selectors import household_readers
from apps.notifications.models import AlertKind
from apps.notifications.selectors import alerts_open
from apps.notifications.services import alert_close, alert_open, alerts_close


def meal_missed_alert(command: FeedCommand, *, now: dt.datetime) -> None:
    """One incident per schedule while its slots are missed; a fed slot ends it."""
    pet, feeder = command.pet, command.feeder
    zone = command.schedule.time_zone if command.schedule else None

    def detail(reader: User) -> str:
        when = when_text_for(command.slot_at or now, reader=reader.time_zone, zone=zone)
        return (f"The meal of {pet.name if pet else 'your pet'} on {feeder.name} at {when} "
                f"was not served: {command.error}. Later meals are served as usual.")  # fmt: skip

    alert_open(
        readers=household_readers(household_id=feeder.household_id), kind=AlertKind.MEAL_MISSED,
        key=f"schedule:{command.schedule_id}", subject=f"{pet.name if pet else 'A'} meal was missed", detail=detail,
        now=now,
    )  # fmt: skip


def allowance_alert(command: FeedCommand, *, now: dt.datetime) -> None:
    """One incident per pet and allowance period."""
    pet = command.pet
    if pet is None:
        return
    allowance = pet_allowance(pet=pet, now=command.slot_at or now)

    def detail(reader: User) -> str:
        starts = when_text_for(allowance.period_end, reader=reader.time_zone, zone=pet.time_zone)
        return (f"{pet.name} has eaten {allowance.eaten_grams} g of {allowance.allowance_grams} g this period; "
                f"a scheduled meal of {command.grams} g was not served. The allowance starts again at "
                f"{starts}.")  # fmt: skip

    alert_open(
        readers=household_readers(household_id=pet.household_id), kind=AlertKind.ALLOWANCE_REACHED,
        key=f"pet:{pet.pk}:{allowance.period_start.isoformat()}", subject=f"{pet.name} has reached the food allowance",
        detail=detail, now=now,
    )  # fmt: skip


def schedule_fed(*, command: FeedCommand, now: dt.datetime) -> None:
    """A scheduled meal was served: a missed-meal incident of its schedule is over."""
    if command.schedule_id is not None:
        schedules_fed(schedule_ids=[command.schedule_id], now=now)


def schedules_fed(*, schedule_ids: Collection[int], now: dt.datetime) -> None:
    """schedule_fed of many scheduled meals at once."""
    alerts_close(kind=AlertKind.MEAL_MISSED, keys=[f"schedule:{pk}" for pk in schedule_ids], now=now)


LOW_FOOD_HYSTERESIS = 10  # percentage points over ALERT_LOW_FOOD_PERCENT that end a low-food incident


def alerts_check(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Open and close the offline and low-food alerts of every feeder.

    Each query reads only feeders whose alert would change, so the cost
    follows incidents, not feeders.
    """
    now = now or timezone.now()
    counts = {"opened": 0, "closed": 0}
    feeder_key = Concat(Value("feeder:"), Cast("pk", CharField()))
    silent = (
        Feeder.objects.filter(
            is_online=False, last_seen_at__lt=now - dt.timedelta(seconds=settings.ALERT_OFFLINE_AFTER)
        )
        .annotate(key_=feeder_key)
        .exclude(Exists(alerts_open(kind=AlertKind.FEEDER_OFFLINE).filter(key=OuterRef("key_"))))
    )
    for feeder in silent:
        counts["opened"] += _alert_feeder(feeder, AlertKind.FEEDER_OFFLINE, now=now)
    low = (
        Feeder.objects.filter(food_level_percent__lte=settings.ALERT_LOW_FOOD_PERCENT)
        .annotate(key_=feeder_key)
        .exclude(Exists(alerts_open(kind=AlertKind.LOW_FOOD).filter(key=OuterRef("key_"))))
    )
    for feeder in low:
        counts["opened"] += _alert_feeder(feeder, AlertKind.LOW_FOOD, now=now)
    counts["closed"] += _alerts_feeder_close(now=now)
    return counts


def _alert_feeder(feeder: Feeder, kind: AlertKind, *, now: dt.datetime) -> int:
    def offline(reader: User) -> str:
        # Mails are read by each member: times in their zone, as on the pages (the worker has no request).
        seen = when_text_for(feeder.last_seen_at, reader=reader.time_zone) if feeder.last_seen_at else "it was added"
        return (f"Your feeder {feeder.name} has not been in touch since {seen}. "
                "Scheduled meals cannot reach it until it is back online.")  # fmt: skip

    def low_food(reader: User) -> str:
        return f"Your feeder {feeder.name} reports {feeder.food_level_percent}% food left. Please refill it."

    offline_now = kind == AlertKind.FEEDER_OFFLINE
    subject = f"{feeder.name} is offline" if offline_now else f"{feeder.name} is running out of food"
    readers = household_readers(household_id=feeder.household_id)
    return int(alert_open(readers=readers, kind=kind, key=f"feeder:{feeder.pk}", subject=subject,
                          detail=offline if offline_now else low_food, now=now) is not None)  # fmt: skip


def _alerts_feeder_close(*, now: dt.datetime) -> int:
    """Offline alerts of feeders back online, low-food alerts of feeders refilled (10 points over the line)."""
    closed = 0
    for kind, back in (
        (AlertKind.FEEDER_OFFLINE, Q(is_online=True)),
        (AlertKind.LOW_FOOD, Q(food_level_percent__gte=settings.ALERT_LOW_FOOD_PERCENT + LOW_FOOD_HYSTERESIS)),
    ):
        keys = alerts_open(kind=kind).values_list("key", flat=True)
        ids = [int(key.split(":", 1)[1]) for key in keys]
        for feeder_id in Feeder.objects.filter(back, pk__in=ids).values_list("pk", flat=True):
            closed += alert_close(kind=kind, key=f"feeder:{feeder_id}", now=now)
    return closed
