from __future__ import annotations

import datetime as dt
from typing import ClassVar

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from apps.feeders.models.devices import Beacon, Feeder
from apps.feeders.models.fields import validate_mac, validate_time_zone

DAY_MINUTES = 24 * 60
MAX_PERIOD_MINUTES = 7 * DAY_MINUTES


class Pet(models.Model):
    household = models.ForeignKey("households.Household", on_delete=models.CASCADE, related_name="pets")
    name = models.CharField(max_length=100)
    beacon = models.OneToOneField(
        Beacon, on_delete=models.SET_NULL, null=True, blank=True, related_name="pet", help_text="The collar tag worn."
    )
    breed = models.CharField(max_length=100, blank=True)
    birth_date = models.DateField(null=True, blank=True)
    weight_grams = models.PositiveIntegerField(null=True, blank=True)
    microchip_id = models.CharField(max_length=32, blank=True)
    allowance_grams = models.PositiveIntegerField(
        default=80, validators=[MaxValueValidator(10_000)], help_text="Food allowed per period, in grams."
    )
    period_minutes = models.PositiveIntegerField(
        default=DAY_MINUTES,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_PERIOD_MINUTES)],
        help_text="Length of one allowance period, in minutes (1440 = 24 h).",
    )
    period_anchor = models.TimeField(
        default=dt.time(0, 0), help_text="Local time (in the pet's time zone) at which a period starts."
    )
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("name", "id")

    def __str__(self) -> str:
        return self.name


class Visit(models.Model):
    """A collar tag seen at a feeder; `pet` is empty for a tag nobody wears."""

    feeder = models.ForeignKey(Feeder, on_delete=models.CASCADE, related_name="visits")
    pet = models.ForeignKey(Pet, on_delete=models.CASCADE, null=True, blank=True, related_name="visits")
    beacon_mac = models.CharField(max_length=17, validators=[validate_mac])
    seen_at = models.DateTimeField()

    class Meta:
        ordering = ("-seen_at", "-id")
        indexes: ClassVar = [
            models.Index(fields=["feeder", "seen_at"], name="feeders_visit_feeder_seen"),
            models.Index(fields=["pet", "seen_at"], name="feeders_visit_pet_seen"),
        ]

    def __str__(self) -> str:
        return f"{self.beacon_mac} at {self.feeder_id} {self.seen_at:%Y-%m-%d %H:%M}"
