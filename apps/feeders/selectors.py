"""Reads. Every selector takes the acting user and sees only that user's rows."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass, replace
from zoneinfo import ZoneInfo

from django.db.models import Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.shortcuts import get_object_or_404
from django.utils import timezone

from apps.accounts.models import User
from apps.feeders.clock import Period, period_containing
from apps.feeders.models import (
    OPEN_COMMAND,
    Beacon,
    DeviceToken,
    FeedCommand,
    Feeder,
    FeedEvent,
    MealSchedule,
    Pet,
    Visit,
)  # fmt: skip


def feeder_list(*, user: User, search: str | None = None, online: bool | None = None) -> QuerySet[Feeder]:
    feeders = Feeder.objects.filter(owner=user)
    if search:
        feeders = feeders.filter(Q(name__icontains=search) | Q(mac__icontains=search))
    if online is not None:
        feeders = feeders.filter(is_online=online)
    return feeders


def feeder_get(*, user: User, feeder_id: int) -> Feeder:
    return get_object_or_404(Feeder, owner=user, pk=feeder_id)


def beacon_list(*, user: User, search: str | None = None) -> QuerySet[Beacon]:
    beacons = Beacon.objects.filter(owner=user).select_related("pet")
    if search:
        beacons = beacons.filter(Q(name__icontains=search) | Q(mac__icontains=search))
    return beacons


def beacon_get(*, user: User, beacon_id: int) -> Beacon:
    return get_object_or_404(Beacon.objects.select_related("pet"), owner=user, pk=beacon_id)


def pet_list(*, user: User, search: str | None = None) -> QuerySet[Pet]:
    pets = Pet.objects.filter(owner=user).select_related("beacon")
    if search:
        pets = pets.filter(name__icontains=search)
    return pets


def pet_get(*, user: User, pet_id: int) -> Pet:
    return get_object_or_404(Pet.objects.select_related("beacon"), owner=user, pk=pet_id)


def schedule_list(
    *, user: User, pet_id: int | None = None, feeder_id: int | None = None, enabled: bool | None = None
) -> QuerySet[MealSchedule]:
    schedules = MealSchedule.objects.filter(pet__owner=user)
    if pet_id is not None:
        schedules = schedules.filter(pet_id=pet_id)
    if feeder_id is not None:
        schedules = schedules.filter(feeder_id=feeder_id)
    if enabled is not None:
        schedules = schedules.filter(enabled=enabled)
    return schedules


def schedule_get(*, user: User, schedule_id: int) -> MealSchedule:
    return get_object_or_404(MealSchedule, pet__owner=user, pk=schedule_id)


def schedule_next_due() -> dt.datetime | None:
    """The earliest slot of any enabled schedule (the dispatcher's partial index: one row read)."""
    return (
        MealSchedule.objects.filter(enabled=True, next_run_at__isnull=False)
        .order_by("next_run_at")
        .values_list("next_run_at", flat=True)
        .first()
    )


def command_list(*, user: User, feeder_id: int | None = None, status: str | None = None) -> QuerySet[FeedCommand]:
    commands = FeedCommand.objects.filter(feeder__owner=user)
    if feeder_id is not None:
        commands = commands.filter(feeder_id=feeder_id)
    if status:
        commands = commands.filter(status=status)
    return commands


def command_get(*, user: User, command_id: int) -> FeedCommand:
    return get_object_or_404(FeedCommand, feeder__owner=user, pk=command_id)


def _in_range(rows: QuerySet, field: str, since: dt.datetime | None, until: dt.datetime | None) -> QuerySet:  # type: ignore[type-arg]
    if since is not None:
        rows = rows.filter(**{f"{field}__gte": since})
    if until is not None:
        rows = rows.filter(**{f"{field}__lt": until})
    return rows


def visit_list(
    *,
    user: User,
    pet: Pet | None = None,
    feeder: Feeder | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> QuerySet[Visit]:
    visits = Visit.objects.filter(feeder__owner=user)
    if pet is not None:
        visits = visits.filter(pet=pet)
    if feeder is not None:
        visits = visits.filter(feeder=feeder)
    return _in_range(visits, "seen_at", since, until)


def feed_event_list(
    *,
    user: User,
    pet: Pet | None = None,
    feeder: Feeder | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> QuerySet[FeedEvent]:
    events = FeedEvent.objects.filter(feeder__owner=user)
    if pet is not None:
        events = events.filter(pet=pet)
    if feeder is not None:
        events = events.filter(feeder=feeder)
    return _in_range(events, "fed_at", since, until)


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


def pet_grams_by_day(*, pet: Pet, days: int = 30, now: dt.datetime | None = None) -> list[tuple[dt.date, int]]:
    """Grams eaten on each of the last `days` days (the pet's local days), oldest first, zeros included."""
    tz = ZoneInfo(pet.time_zone)
    first = (now or timezone.now()).astimezone(tz).date() - dt.timedelta(days=days - 1)
    since = dt.datetime.combine(first, dt.time(), tzinfo=tz)
    # order_by() drops the model's ordering, which would otherwise join the GROUP BY.
    rows = (
        FeedEvent.objects.filter(pet=pet, fed_at__gte=since)
        .order_by()
        .annotate(day=TruncDate("fed_at", tzinfo=tz))
        .values("day")
        .annotate(total=Sum("grams"))
    )
    totals = {row["day"]: row["total"] for row in rows}
    return [(day, totals.get(day, 0)) for day in (first + dt.timedelta(days=n) for n in range(days))]


def pet_allowance(*, pet: Pet, now: dt.datetime | None = None, answering: FeedCommand | None = None) -> Allowance:
    """What the pet has eaten in its current period, what open commands will give, and what is left."""
    return pets_allowances(pets=[pet], at={pet.pk: now or timezone.now()}, answering=answering)[pet.pk]


def pets_allowances(
    *, pets: list[Pet], at: dict[int, dt.datetime], answering: FeedCommand | None = None
) -> dict[int, Allowance]:
    """The allowance of many pets, each at its own instant, in two queries (the dispatcher's batch).

    Each gram counts once: as eaten when its FeedEvent exists, as promised while
    its command is open without one. `answering` is the command whose own
    feeding is being checked: it is not a promise against itself. An open
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


def _promised(pet_ids: list[int], *, answering: FeedCommand | None) -> dict[int, int]:
    open_commands = FeedCommand.objects.filter(
        pet_id__in=pet_ids, status__in=OPEN_COMMAND, feed_events__isnull=True
    ).order_by()
    if answering is not None:
        open_commands = open_commands.exclude(pk=answering.pk)
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


@dataclass(frozen=True)
class FeedDecision:
    allowed: bool
    grams: int  # how much may be dispensed now
    eaten_grams: int
    remaining_grams: int
    period_end: dt.datetime


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
    )


# -- devices ----------------------------------------------------------------------------
def device_token_authenticate(*, token: str, now: dt.datetime | None = None) -> tuple[Feeder, DeviceToken] | None:
    """The feeder a device token belongs to, if the token is live; None for anything else."""
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != "cfd" or not parts[1] or not parts[2]:
        return None
    found = DeviceToken.objects.select_related("feeder").filter(prefix=parts[1]).first()
    if found is None or not hmac.compare_digest(found.secret_hash, token_hash(parts[2])):
        return None
    return (found.feeder, found) if found.is_valid(now or timezone.now()) else None


def device_token_is_live(*, token_id: int, now: dt.datetime | None = None) -> bool:
    token = DeviceToken.objects.filter(pk=token_id).first()
    return token is not None and token.is_valid(now or timezone.now())


def token_hash(secret: str) -> str:
    # A plain digest is enough: the secrets are 256 random bits, not passwords.
    return hashlib.sha256(secret.encode()).hexdigest()


def pet_for_beacon(*, feeder: Feeder, beacon_mac: str) -> Pet | None:
    """The pet wearing this tag, if tag and pet belong to the feeder's owner."""
    return Pet.objects.filter(
        owner_id=feeder.owner_id, beacon__mac=beacon_mac, beacon__owner_id=feeder.owner_id
    ).first()
