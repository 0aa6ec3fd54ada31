"""The allowance: what a pet may still get at a moment. One rule, for every path that feeds."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass, replace
from typing import Literal
from zoneinfo import ZoneInfo

from django.db.models import Sum
from django.utils import timezone

from apps.feeders.clock import Period, period_containing
from apps.feeders.models import OPEN_COMMAND, FeedCommand, FeedEvent, Pet


@dataclass(frozen=True)
class Allowance:
    """What a pet may still get at a moment: THE allowance rule, for every path that feeds."""

    allowance_grams: int
    eaten_grams: int  # fed in the period
    promised_grams: int  # open commands for the pet, not fed yet: they will be, or will close
    remaining_grams: int
    period_start: dt.datetime
    period_end: dt.datetime

    def allows(self, grams: int) -> bool:
        return 0 < grams <= self.remaining_grams

    def promising(self, grams: int) -> Allowance:
        """The allowance once a command of `grams` is ordered (a batch deciding several meals at once)."""
        promised = self.promised_grams + grams
        remaining = max(self.allowance_grams - self.eaten_grams - promised, 0)
        return replace(self, promised_grams=promised, remaining_grams=remaining)


def _period(pet: Pet, now: dt.datetime) -> Period:
    length = dt.timedelta(minutes=pet.period_minutes)
    return period_containing(now, tz=ZoneInfo(pet.time_zone), length=length, anchor=pet.period_anchor)


def pet_allowance(*, pet: Pet, now: dt.datetime | None = None, answering: FeedCommand | None = None) -> Allowance:
    """What the pet has eaten in its current period, what open commands will give, and what is left."""
    answered = () if answering is None else (answering.pk,)
    return pets_allowances(pets=[pet], at={pet.pk: now or timezone.now()}, answering=answered)[pet.pk]


def pets_allowances(
    *, pets: list[Pet], at: dict[int, dt.datetime], answering: Collection[int] = ()
) -> dict[int, Allowance]:
    """The allowance of many pets, each at its own instant, in two queries (the dispatcher's batch).

    Each gram counts once: as eaten when its FeedEvent exists, as promised while
    its command is open without one. `answering` are the ids of the commands whose
    own feedings are being checked: none is a promise against itself. An open
    command counts whatever its period: what it gives is recorded when it is
    answered, which is now or later.
    """
    periods = {pet.pk: _period(pet, at[pet.pk]) for pet in pets}
    if not periods:
        return {}
    low, high = min(p.start for p in periods.values()), max(p.end for p in periods.values())
    eaten = dict.fromkeys(periods, 0)
    rows = FeedEvent.objects.filter(pet_id__in=periods, fed_at__gte=low, fed_at__lt=high)
    for pet_id, fed_at, grams in rows.values_list("pet_id", "fed_at", "grams"):
        period = periods[pet_id]
        if period.start <= fed_at < period.end:
            eaten[pet_id] += grams
    promised = _promised(list(periods), answering=answering)
    return {pet.pk: _allowance(pet, periods[pet.pk], eaten[pet.pk], promised.get(pet.pk, 0)) for pet in pets}


def _promised(pet_ids: list[int], *, answering: Collection[int]) -> dict[int, int]:
    open_commands = FeedCommand.objects.filter(
        pet_id__in=pet_ids, status__in=OPEN_COMMAND, feed_events__isnull=True
    ).order_by()
    if answering:
        open_commands = open_commands.exclude(pk__in=answering)
    rows = open_commands.values("pet_id").annotate(grams=Sum("grams")).values_list("pet_id", "grams")
    return {pet_id: grams or 0 for pet_id, grams in rows}


def _allowance(pet: Pet, period: Period, eaten: int, promised: int) -> Allowance:
    return Allowance(
        allowance_grams=pet.allowance_grams,
        eaten_grams=eaten,
        promised_grams=promised,
        remaining_grams=max(pet.allowance_grams - eaten - promised, 0),
        period_start=period.start,
        period_end=period.end,
    )


# Why MayFeed says no; the device shows it, and the protocol documents each.
Refusal = Literal["unknown_tag", "not_allowed_at_feeder", "allowance_exceeded"]


@dataclass(frozen=True)
class FeedDecision:
    allowed: bool
    grams: int  # how much may be dispensed now
    eaten_grams: int
    remaining_grams: int
    period_end: dt.datetime
    reason: Refusal | None = None  # None when allowed

    def refused(self, reason: Refusal) -> FeedDecision:
        return replace(self, allowed=False, grams=0, reason=reason)


def pet_may_feed(*, pet: Pet, grams: int | None = None, now: dt.datetime | None = None) -> FeedDecision:
    """Whether `grams` (or anything, when None) may be dispensed to the pet now."""
    allowance = pet_allowance(pet=pet, now=now)
    wanted = allowance.remaining_grams if grams is None else grams
    allowed = allowance.allows(wanted)
    return FeedDecision(
        allowed=allowed,
        grams=wanted if allowed else 0,
        eaten_grams=allowance.eaten_grams,
        remaining_grams=allowance.remaining_grams,
        period_end=allowance.period_end,
        reason=None if allowed else "allowance_exceeded",
    )
