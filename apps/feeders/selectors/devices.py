"""Feeders, collar tags and device tokens, as their owner (or the device) sees them."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac

from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from apps.accounts.models import User
from apps.feeders.models import Beacon, DeviceToken, Feeder


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
