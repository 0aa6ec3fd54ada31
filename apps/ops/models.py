from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class StatusChoices(models.TextChoices):
    OK = "ok", "ok"
    DEGRADED = "degraded", "degraded"
    DOWN = "down", "down"


class ServiceStatus(models.Model):
    """The last known status of one service, as the registry last saw it."""

    name = models.CharField(max_length=64, unique=True)
    status = models.CharField(max_length=16, choices=StatusChoices.choices)
    detail = models.TextField(blank=True)
    latency_ms = models.FloatField(default=0)
    critical = models.BooleanField(default=False)
    checked_at = models.DateTimeField()
    changed_at = models.DateTimeField(help_text="When the status last changed.")

    class Meta:
        ordering = ("name",)
        verbose_name = "service status"
        verbose_name_plural = "service status"

    def __str__(self) -> str:
        return f"{self.name}: {self.status}"


class StatusChange(models.Model):
    """One flip of a service's status (ok -> down, down -> ok, ...)."""

    service = models.CharField(max_length=64, db_index=True)
    status_from = models.CharField(max_length=16, choices=StatusChoices.choices, blank=True)
    status_to = models.CharField(max_length=16, choices=StatusChoices.choices)
    detail = models.TextField(blank=True)
    at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ("-at", "-id")

    def __str__(self) -> str:
        return f"{self.service}: {self.status_from or 'new'} -> {self.status_to}"


class AuditEntry(models.Model):
    """Who did what to the running system, when, and how it went."""

    class Result(models.TextChoices):
        OK = "ok", "ok"
        FAILED = "failed", "failed"
        DENIED = "denied", "denied"

    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    actor_label = models.CharField(max_length=254, help_text="The actor's e-mail, kept if the user is deleted.")
    action = models.CharField(max_length=64)
    target = models.CharField(max_length=254, blank=True)
    result = models.CharField(max_length=16, choices=Result.choices)
    detail = models.TextField(blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ("-at", "-id")
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor_label} {self.action} {self.target}: {self.result}"


class Maintenance(models.Model):
    """Maintenance mode: a single row (pk 1). API writes answer 503 while it is on."""

    enabled = models.BooleanField(default=False)
    message = models.CharField(max_length=500, blank=True)
    retry_after = models.PositiveIntegerField(default=300, help_text="seconds, sent as Retry-After")
    changed_at = models.DateTimeField(default=timezone.now)
    changed_by = models.CharField(max_length=254, blank=True)

    class Meta:
        verbose_name_plural = "maintenance"

    def __str__(self) -> str:
        return "on" if self.enabled else "off"


class PeriodicPause(models.Model):
    """A periodic job that the "pause" control switched off (and "resume" will switch back on).

    Only jobs that were enabled at the pause are recorded, so an operator's own
    off switch survives a pause and resume.
    """

    task = models.OneToOneField("django_celery_beat.PeriodicTask", on_delete=models.CASCADE)
    paused_at = models.DateTimeField(default=timezone.now)
    paused_by = models.CharField(max_length=254)

    def __str__(self) -> str:
        return f"{self.task} paused by {self.paused_by}"
