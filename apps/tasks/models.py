from __future__ import annotations

from django.db import models


class JobRun(models.Model):
    """The last run of one periodic job's task, for the admin: when, and how it ended."""

    task = models.CharField(max_length=200, unique=True)
    last_started_at = models.DateTimeField(null=True, blank=True)
    last_finished_at = models.DateTimeField(null=True, blank=True)
    last_status = models.CharField(max_length=16, blank=True)  # running, ok, failed
    last_result = models.TextField(blank=True)
    runs = models.PositiveIntegerField(default=0)
    failures = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ("task",)

    def __str__(self) -> str:
        return f"{self.task}: {self.last_status or 'never run'}"
