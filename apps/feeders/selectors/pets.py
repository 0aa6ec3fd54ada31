"""Pets and their history: visits and feedings. Each takes the acting user and sees only the rows
of that user's households."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.db.models import QuerySet, Sum
from django.db.models.functions import TruncDate
from django.shortcuts import get_object_or_404
from django.utils import timezone

from apps.accounts.models import User
from apps.feeders.models import Feeder, FeedEvent, Pet, Visit
from apps.feeders.models.pets import DAY_MINUTES as DAY_MINUTES  # the pages draw days with it
from apps.households.roles import Role
from apps.households.selectors import member_of, row_role_require


def pet_list(*, user: User, household: int | None = None, search: str | None = None) -> QuerySet[Pet]:
    pets = Pet.objects.filter(member_of(user)).select_related("beacon")
    if household is not None:
        pets = pets.filter(household_id=household)
    if search:
        pets = pets.filter(name__icontains=search)
    return pets


def pet_get(*, user: User, pet_id: int, role: Role = Role.VIEWER) -> Pet:
    pet = get_object_or_404(Pet.objects.filter(member_of(user)).select_related("beacon"), pk=pet_id)
    row_role_require(user=user, household_id=pet.household_id, role=role)
    return pet


def pet_for_beacon(*, feeder: Feeder, beacon_mac: str) -> Pet | None:
    """The pet wearing this tag, if tag and pet belong to the feeder's household."""
    return Pet.objects.filter(
        household_id=feeder.household_id, beacon__mac=beacon_mac, beacon__household_id=feeder.household_id
    ).first()


def _history(
    rows: QuerySet,  # type: ignore[type-arg]
    field: str,
    *,
    household: int | None,
    pet: Pet | None,
    feeder: Feeder | None,
    since: dt.datetime | None,
    until: dt.datetime | None,
) -> QuerySet:  # type: ignore[type-arg]
    """A user's history rows, narrowed to one of their households, a pet, a feeder and [since, until) on `field`."""
    if household is not None:
        rows = rows.filter(feeder__household_id=household)
    if pet is not None:
        rows = rows.filter(pet=pet)
    if feeder is not None:
        rows = rows.filter(feeder=feeder)
    if since is not None:
        rows = rows.filter(**{f"{field}__gte": since})
    if until is not None:
        rows = rows.filter(**{f"{field}__lt": until})
    return rows


def visit_list(
    *,
    user: User,
    household: int | None = None,
    pet: Pet | None = None,
    feeder: Feeder | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> QuerySet[Visit]:
    visits = Visit.objects.filter(member_of(user, path="feeder__household"))
    return _history(visits, "seen_at", household=household, pet=pet, feeder=feeder, since=since, until=until)


def feed_event_list(
    *,
    user: User,
    household: int | None = None,
    pet: Pet | None = None,
    feeder: Feeder | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> QuerySet[FeedEvent]:
    # Who ordered each comes in the same statement: a page of history names them all.
    events = FeedEvent.objects.filter(member_of(user, path="feeder__household")).select_related("ordered_by")
    return _history(events, "fed_at", household=household, pet=pet, feeder=feeder, since=since, until=until)


def pet_allowance_per_day(*, pet: Pet) -> int:
    """The allowance scaled to a day: 80 g per 12 h is 160 g a day."""
    return round(pet.allowance_grams * DAY_MINUTES / pet.period_minutes)


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
