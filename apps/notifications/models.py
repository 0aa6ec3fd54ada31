"""Alerts to owners: one row per incident, mailed once when it opens (healthchecks' flips)."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models


class AlertKind(models.TextChoices):
    FEEDER_OFFLINE = "feeder_offline", "Feeder offline"
    MEAL_MISSED = "meal_missed", "Meal missed"
    ALLOWANCE_REACHED = "allowance_reached", "Allowance reached"
    LOW_FOOD = "low_food", "Low food level"
    COMMAND_FAILED = "command_failed", "Feed command failed"


class Alert(models.Model):
    """An incident about one thing (`key`: "feeder:12", "schedule:3", …), open until `closed_at`.

    At most one open row per (kind, key): a check that runs every minute finds
    it open and mails nothing more; the next incident is a new row.
    """

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="alerts")
    kind = models.CharField(max_length=32, choices=AlertKind.choices)
    key = models.CharField(max_length=100)
    subject = models.CharField(max_length=200)
    detail = models.TextField(blank=True)
    opened_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    mailed_at = models.DateTimeField(null=True, blank=True, help_text="Empty: the owner chose not to hear of it.")

    class Meta:
        ordering = ("-opened_at", "-id")
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["kind", "key"], condition=models.Q(closed_at__isnull=True), name="notifications_alert_one_open"
            ),
        ]
        indexes: ClassVar = [models.Index(fields=["owner", "opened_at"], name="notifications_alert_owner")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.subject}"


class AlertPreference(models.Model):
    """Which alerts an owner gets by mail; no row means all of them."""

    owner = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="alert_preference")
    feeder_offline = models.BooleanField(default=True)
    meal_missed = models.BooleanField(default=True)
    allowance_reached = models.BooleanField(default=True)
    low_food = models.BooleanField(default=True)
    command_failed = models.BooleanField(default=True)

    def __str__(self) -> str:
        return f"alert preferences of {self.owner}"

    def wants(self, kind: str) -> bool:
        return bool(getattr(self, kind, True))


class HeldEmail(models.Model):
    """A mail the broker would not take when it was queued (Redis down): the "held mail" job queues it again.

    `message` is the rendered mail as data (OutgoingEmail); its body may hold
    one-time links, so the admin shows only its subject and recipients.
    """

    message = models.JSONField()
    held_at = models.DateTimeField(auto_now_add=True)
    error = models.CharField(max_length=300)

    class Meta:
        ordering = ("held_at", "id")

    def __str__(self) -> str:
        return f"{self.subject} to {self.recipients}"

    @property
    def subject(self) -> str:
        return str(self.message.get("subject", ""))

    @property
    def recipients(self) -> str:
        return ", ".join(self.message.get("to", []))
