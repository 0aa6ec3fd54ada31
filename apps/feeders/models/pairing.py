"""How a device proves it is a feeder: a pairing code once, then its own token."""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

from django.db import models

from apps.feeders.models.devices import Feeder


class PairingCode(models.Model):
    """A short, single-use code an owner reads to a device. Stored hashed."""

    feeder = models.ForeignKey(Feeder, on_delete=models.CASCADE, related_name="pairing_codes")
    code_hash = models.CharField(max_length=64, help_text="sha256 of the normalised code.")
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0, help_text="Wrong codes presented for this feeder.")
    used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-created_at", "-id")

    def __str__(self) -> str:
        return f"pairing code for {self.feeder_id} until {self.expires_at:%H:%M}"


class DeviceToken(models.Model):
    """A feeder's credential: `cfd_<prefix>_<secret>`, shown once, kept as sha256(secret).

    `expires_at` is set when the token is rotated (the overlap during which old
    and new both work); `revoked_at` ends it at once.
    """

    feeder = models.ForeignKey(Feeder, on_delete=models.CASCADE, related_name="tokens")
    prefix = models.CharField(max_length=16, unique=True, help_text="Public part, to find the row.")
    secret_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")
        indexes: ClassVar = [models.Index(fields=["feeder", "revoked_at"], name="feeders_token_feeder_live")]

    def __str__(self) -> str:
        return f"cfd_{self.prefix}_… ({self.feeder_id})"

    def is_valid(self, now: dt.datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)
