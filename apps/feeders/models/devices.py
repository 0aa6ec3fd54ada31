from __future__ import annotations

from typing import ClassVar

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from apps.feeders.models.fields import validate_mac, validate_time_zone


class Feeder(models.Model):
    """A feeding device at a bowl, owned by one household."""

    household = models.ForeignKey("households.Household", on_delete=models.CASCADE, related_name="feeders")
    name = models.CharField(max_length=100)
    mac = models.CharField("Wi-Fi MAC address", max_length=17, validators=[validate_mac])
    latitude = models.DecimalField(
        max_digits=9, decimal_places=6, null=True, blank=True, help_text="Degrees, -90 to 90."
    )
    longitude = models.DecimalField(
        max_digits=9, decimal_places=6, null=True, blank=True, help_text="Degrees, -180 to 180."
    )
    city = models.CharField(max_length=100, blank=True)
    country = models.CharField(max_length=100, blank=True)
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    firmware_version = models.CharField(max_length=32, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    last_ip = models.GenericIPAddressField(null=True, blank=True)
    food_level_percent = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(0), MaxValueValidator(100)]
    )
    signal_dbm = models.SmallIntegerField(null=True, blank=True, help_text="Wi-Fi signal at the last heartbeat.")
    is_online = models.BooleanField(default=False)
    # The socket that made the feeder online: a late disconnect of an older one must not take it offline.
    connection_id = models.CharField(max_length=32, blank=True, editable=False)
    # Announced in Hello: the device keeps its meal schedule (ScheduleSync) and serves a slot on its
    # own when it has not heard from the server by then (docs/protocol.md, "Meals offline").
    local_schedule = models.BooleanField(default=False, editable=False)
    schedule_version = models.PositiveBigIntegerField(default=0, editable=False)
    schedule_acked_version = models.PositiveBigIntegerField(null=True, blank=True, editable=False)
    # A ScheduleAck or a heartbeat: the device has uploaded everything it did before this moment,
    # so a slot it has not reported by then was not served by it either.
    reported_at = models.DateTimeField(null=True, blank=True, editable=False)
    clock_offset = models.FloatField(
        null=True, blank=True, editable=False, help_text="Seconds the device's clock is ahead of the server's."
    )
    local_meals_untold = models.PositiveIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("name", "id")
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["household", "mac"], name="feeders_feeder_mac_unique_per_household"),
            models.CheckConstraint(
                condition=models.Q(food_level_percent__isnull=True) | models.Q(food_level_percent__lte=100),
                name="feeders_feeder_food_level_percent",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.mac})"


class Beacon(models.Model):
    """A BLE collar tag; a pet wears at most one."""

    household = models.ForeignKey("households.Household", on_delete=models.CASCADE, related_name="beacons")
    mac = models.CharField("BLE MAC address", max_length=17, validators=[validate_mac])
    name = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("name", "id")
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["household", "mac"], name="feeders_beacon_mac_unique_per_household"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.mac})"
