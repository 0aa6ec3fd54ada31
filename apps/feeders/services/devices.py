"""Feeders and collar tags, and how a device becomes a feeder: pairing codes and device tokens."""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone

from apps.accounts.models import User
from apps.accounts.ratelimits import address_counted, attempt_count
from apps.accounts.selectors import user_email_verified
from apps.api.problems import Problem
from apps.feeders import events
from apps.feeders.errors import Conflict, PairingFailed, PairingLimited
from apps.feeders.models import Beacon, DeviceToken, Feeder, PairingCode
from apps.feeders.protocol import ConfigUpdate
from apps.feeders.selectors.devices import token_hash
from apps.feeders.services.rows import fields_apply, row_save
from apps.households.models import Household

FEEDER_FIELDS = frozenset({"name", "mac", "latitude", "longitude", "city", "country", "time_zone"})

BEACON_FIELDS = frozenset({"name", "mac"})


def feeder_create(*, household: Household, name: str, mac: str, **fields: Any) -> Feeder:
    feeder = Feeder(household=household, name=name, mac=mac)
    fields_apply(feeder, fields, FEEDER_FIELDS)
    row_save(feeder, conflict=f"You already have a feeder with MAC address {mac}.")
    events.catalog_changed(household.pk)
    return feeder


def feeder_update(*, feeder: Feeder, data: dict[str, Any]) -> Feeder:
    fields = fields_apply(feeder, data, FEEDER_FIELDS)
    row_save(feeder, conflict=f"You already have a feeder with MAC address {feeder.mac}.", update_fields=fields)
    events.catalog_changed(feeder.household_id)
    return feeder


def feeder_delete(*, feeder: Feeder) -> None:
    feeder.delete()
    events.catalog_changed(feeder.household_id)


def beacon_create(*, household: Household, name: str, mac: str) -> Beacon:
    beacon = Beacon(household=household, name=name, mac=mac)
    row_save(beacon, conflict=f"You already have a collar tag with MAC address {mac}.")
    return beacon


def beacon_update(*, beacon: Beacon, data: dict[str, Any]) -> Beacon:
    fields = fields_apply(beacon, data, BEACON_FIELDS)
    row_save(beacon, conflict=f"You already have a collar tag with MAC address {beacon.mac}.", update_fields=fields)
    return beacon


def beacon_delete(*, beacon: Beacon) -> None:
    beacon.delete()  # the pet that wore it keeps its history and loses only the tag


PAIRING_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"  # no 0/O, 1/I/L, U: read aloud, typed on a device

PAIRING_CODE_LENGTH = 8  # 30**8: about 39 bits, against 10 guesses per address in a code's 10 minutes


def _normalise_code(code: str) -> str:
    return code.replace("-", "").replace(" ", "").upper()


def pairing_code_create(*, feeder: Feeder, user: User, now: dt.datetime | None = None) -> tuple[PairingCode, str]:
    """A new single-use code for pairing a device to `feeder`, asked by `user`; earlier unused codes stop working."""
    if not user_email_verified(user=user):
        raise Problem(403, "Verify your e-mail address before pairing a device.", kind="email-unverified")
    now = now or timezone.now()
    code = "".join(secrets.choice(PAIRING_ALPHABET) for _ in range(PAIRING_CODE_LENGTH))
    with transaction.atomic():
        PairingCode.objects.filter(feeder=feeder, used_at__isnull=True).delete()
        pairing = PairingCode.objects.create(
            feeder=feeder,
            code_hash=token_hash(code),
            expires_at=now + dt.timedelta(seconds=settings.PAIRING_CODE_TTL),
        )
    return pairing, f"{code[:4]}-{code[4:]}"


def feeder_pair(*, code: str, mac: str, client: str, now: dt.datetime | None = None) -> tuple[Feeder, DeviceToken, str]:
    """A device with `mac` presents `code` from the address `client`: it becomes the feeder and gets its token.

    Attempts are counted per client address and per code presented
    (PAIRING_RATE_LIMITS), never per feeder: a wrong code spoils nothing for
    the owner's device, which brings the right one from its own address.
    Over a limit even the right code is refused until the window ends.
    Pairing replaces the feeder's previous device: its tokens are revoked.
    """
    now = now or timezone.now()
    normalised = _normalise_code(code)
    subjects = {"ip": address_counted(client), "key": normalised}
    if wait := attempt_count(scope="pair", rates=settings.PAIRING_RATE_LIMITS, subjects=subjects):
        raise PairingLimited(wait)
    wanted = token_hash(normalised)
    with transaction.atomic():
        live = list(
            PairingCode.objects.select_for_update()
            .select_related("feeder")
            .filter(feeder__mac=mac, used_at__isnull=True, expires_at__gt=now)
        )
        match = next((p for p in live if hmac.compare_digest(p.code_hash, wanted)), None)
        if match is None:  # a record for the admin, not a limit: the code stays good
            PairingCode.objects.filter(pk__in=[p.pk for p in live]).update(attempts=models.F("attempts") + 1)
        else:
            match.used_at = now
            match.save(update_fields=["used_at"])
            device_token_revoke(feeder=match.feeder, now=now)
            device_token, token = device_token_create(feeder=match.feeder)
    if match is None:  # outside the block: the counted attempts must commit
        raise PairingFailed()
    return match.feeder, device_token, token


def device_token_create(*, feeder: Feeder) -> tuple[DeviceToken, str]:
    prefix, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    device_token = DeviceToken.objects.create(feeder=feeder, prefix=prefix, secret_hash=token_hash(secret))
    return device_token, f"cfd_{prefix}_{secret}"


@dataclass(frozen=True)
class RotatedToken:
    device_token: DeviceToken
    token: str  # the secret, shown once
    previous_valid_until: dt.datetime


def device_token_rotate(*, feeder: Feeder, now: dt.datetime | None = None) -> RotatedToken:
    """A new token for a paired feeder; the current ones work DEVICE_TOKEN_OVERLAP seconds more.

    The device gets the new token pushed as ConfigUpdate if it is online; the
    owner sees it once in the answer, to enter it by hand otherwise.
    """
    now = now or timezone.now()
    overlap_end = now + dt.timedelta(seconds=settings.DEVICE_TOKEN_OVERLAP)
    with transaction.atomic():
        live = DeviceToken.objects.select_for_update().filter(feeder=feeder, revoked_at__isnull=True)
        live = live.filter(models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now))
        if not live.exists():
            raise Conflict("This feeder has no device paired: pair it first.")
        live.filter(models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=overlap_end)).update(
            expires_at=overlap_end
        )
        device_token, token = device_token_create(feeder=feeder)
        events.config_to_device(feeder.pk, ConfigUpdate(device_token=token))
    return RotatedToken(device_token, token, overlap_end)


def device_token_revoke(*, feeder: Feeder, now: dt.datetime | None = None) -> int:
    """End every token of the feeder now; its open sockets close (within a second)."""
    with transaction.atomic():
        live = DeviceToken.objects.filter(feeder=feeder, revoked_at__isnull=True)
        token_ids = list(live.values_list("pk", flat=True))
        live.update(revoked_at=now or timezone.now())
        if token_ids:
            events.tokens_revoked(feeder.pk, token_ids)
    return len(token_ids)


def pairing_and_tokens_purge(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Delete pairing codes past their life and device tokens dead for a day (kept that long for the admin)."""
    now = now or timezone.now()
    day_ago = now - dt.timedelta(days=1)
    codes, _ = PairingCode.objects.filter(models.Q(expires_at__lt=now) | models.Q(used_at__isnull=False)).delete()
    dead = models.Q(revoked_at__lt=day_ago) | models.Q(expires_at__lt=day_ago)
    tokens, _ = DeviceToken.objects.filter(dead).delete()
    return {"pairing codes": codes, "device tokens": tokens}
