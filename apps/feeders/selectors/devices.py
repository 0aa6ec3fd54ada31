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
