"""Feeders, collar tags and device tokens, as their household's members (or the device) see them."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac

from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from apps.accounts.models import User
from apps.feeders.models import Beacon, DeviceToken, Feeder
from apps.households.roles import Role
from apps.households.selectors import member_of, row_role_require


def feeder_list(
    *, user: User, household: int | None = None, search: str | None = None, online: bool | None = None
) -> QuerySet[Feeder]:
    feeders = Feeder.objects.filter(member_of(user))
    if household is not None:
        feeders = feeders.filter(household_id=household)
    if search:
        feeders = feeders.filter(Q(name__icontains=search) | Q(mac__icontains=search))
    if online is not None:
        feeders = feeders.filter(is_online=online)
    return feeders


def feeder_get(*, user: User, feeder_id: int, role: Role = Role.VIEWER) -> Feeder:
    """One feeder of the user's households (404 otherwise), if their role there allows `role`'s doings (403)."""
    feeder = get_object_or_404(Feeder.objects.filter(member_of(user)), pk=feeder_id)
    row_role_require(user=user, household_id=feeder.household_id, role=role)
    return feeder


def beacon_list(*, user: User, household: int | None = None, search: str | None = None) -> QuerySet[Beacon]:
    beacons = Beacon.objects.filter(member_of(user)).select_related("pet")
    if household is not None:
        beacons = beacons.filter(household_id=household)
    if search:
        beacons = beacons.filter(Q(name__icontains=search) | Q(mac__icontains=search))
    return beacons


def beacon_get(*, user: User, beacon_id: int, role: Role = Role.VIEWER) -> Beacon:
    beacon = get_object_or_404(Beacon.objects.filter(member_of(user)).select_related("pet"), pk=beacon_id)
    row_role_require(user=user, household_id=beacon.household_id, role=role)
    return beacon


def device_token_authenticate(*, token: str, now: dt.datetime | None = None) -> tuple[Feeder, DeviceToken] | None:
    """The feeder a device token belongs to, if the token is live; None for anything else."""
    return device_tokens_authenticate(tokens=[token], now=now)[0]


def device_tokens_authenticate(
    *, tokens: list[str], now: dt.datetime | None = None
) -> list[tuple[Feeder, DeviceToken] | None]:
    """device_token_authenticate of each token, in one query (a storm of sign-ins)."""
    now = now or timezone.now()
    parts = [_token_parts(token) for token in tokens]
    prefixes = {p[0] for p in parts if p is not None}
    # No ORDER BY: a prefix is unique, and the model's default ordering cost a sort and its compilation.
    rows = DeviceToken.objects.select_related("feeder").filter(prefix__in=prefixes).order_by() if prefixes else []
    found = {row.prefix: row for row in rows}
    return [None if p is None else _live(found.get(p[0]), p[1], now) for p in parts]


def _token_parts(token: str) -> tuple[str, str] | None:
    """`cfd_<prefix>_<secret>` as (prefix, secret); None for anything else."""
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != "cfd" or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


def _live(row: DeviceToken | None, secret: str, now: dt.datetime) -> tuple[Feeder, DeviceToken] | None:
    if row is None or not hmac.compare_digest(row.secret_hash, token_hash(secret)):
        return None
    return (row.feeder, row) if row.is_valid(now) else None


def device_token_is_live(*, token_id: int, now: dt.datetime | None = None) -> bool:
    token = DeviceToken.objects.filter(pk=token_id).first()
    return token is not None and token.is_valid(now or timezone.now())


def token_hash(secret: str) -> str:
    # A plain digest is enough: the secrets are 256 random bits, not passwords.
    return hashlib.sha256(secret.encode()).hexdigest()
