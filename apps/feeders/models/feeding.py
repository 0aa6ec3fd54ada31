from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from apps.feeders.models.devices import Feeder
from apps.feeders.models.fields import validate_time_zone
from apps.feeders.models.pets import Pet

MAX_PORTION_GRAMS = 1000


class FeedSource(models.TextChoices):
    DEVICE = "device", "Device"
    OWNER = "owner", "Owner"
    SCHEDULE = "schedule", "Schedule"
    HOME_ASSISTANT = "home_assistant", "Home Assistant"


class CommandStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    EXPIRED = "expired", "Expired"
    MISSED = "missed", "Missed"
    # Never sent to a feeder that serves its schedule on its own: it may have fed the pet while
    # offline and not told us yet. Closed (no promise on the allowance); settled as done when the
    # feeder reports the slot, as missed once it has reported without it (meals.py, offline.py).
    UNREPORTED = "unreported", "Not reported yet"


OPEN_COMMAND = (CommandStatus.PENDING, CommandStatus.SENT)  # not answered yet: its food is still to come


class MealSchedule(models.Model):
    """Meals at local times of day on some days of the week, in its own time zone."""

    pet = models.ForeignKey(Pet, on_delete=models.CASCADE, related_name="schedules")
    feeder = models.ForeignKey(Feeder, on_delete=models.CASCADE, related_name="schedules")
    times = models.JSONField(help_text='Local times of day, "HH:MM", sorted.')
    days_of_week = models.JSONField(help_text="ISO days of the week, 1 = Monday … 7 = Sunday.")
    grams = models.PositiveIntegerField(validators=[MinValueValidator(1), MaxValueValidator(MAX_PORTION_GRAMS)])
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    enabled = models.BooleanField(default=True)
    next_run_at = models.DateTimeField(null=True, blank=True, help_text="Next slot, UTC; empty when disabled.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("id",)
        indexes: ClassVar = [
            # The dispatcher asks only for due, enabled slots: its cost follows them, not the table.
            models.Index(fields=["next_run_at"], condition=models.Q(enabled=True), name="feeders_schedule_due"),
        ]

    def __str__(self) -> str:
        return f"{self.pet} at {', '.join(self.times)}"


class FeedCommand(models.Model):
    """An order to a feeder to dispense food: a row first, a message second."""

    feeder = models.ForeignKey(Feeder, on_delete=models.CASCADE, related_name="commands")
    pet = models.ForeignKey(Pet, on_delete=models.CASCADE, null=True, blank=True, related_name="commands")
    grams = models.PositiveIntegerField(validators=[MinValueValidator(1), MaxValueValidator(MAX_PORTION_GRAMS)])
    source = models.CharField(max_length=16, choices=FeedSource.choices)
    status = models.CharField(max_length=16, choices=CommandStatus.choices, default=CommandStatus.PENDING)
    schedule = models.ForeignKey(
        MealSchedule, on_delete=models.SET_NULL, null=True, blank=True, related_name="commands"
    )
    slot_at = models.DateTimeField(null=True, blank=True, help_text="The schedule slot this command serves (UTC).")
    # "<schedule>.<n-th meal of the day>@<local date>": the slot's name on the device too (slots.py).
    slot_key = models.CharField(max_length=40, null=True, blank=True)  # noqa: DJ001 - NULL: exempt from uniqueness
    local = models.BooleanField(default=False, help_text="Served by the feeder on its own, without the server.")
    grams_dispensed = models.PositiveIntegerField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0, help_text="Times it was sent to the device.")
    # Counted before each delivery task runs, so a task that keeps killing its worker
    # ends (failed, owner told) after COMMAND_MAX_DELIVERIES instead of looping forever.
    deliveries = models.PositiveIntegerField(default=0, help_text="Delivery tasks started for it.")
    expires_at = models.DateTimeField(
        null=True, blank=True, help_text="Open after this, it is expired (or missed, for a slot never sent)."
    )
    error = models.CharField(max_length=200, blank=True)
    # Who pressed "feed now" (the pages, the API, Home Assistant through its owner's link); empty for a
    # meal schedule's slot, and once that account is deleted. Indexed below for the ordered ones only.
    ordered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_index=False
    )
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")
        constraints: ClassVar = [
            # One command per schedule slot, however often the dispatcher runs.
            models.UniqueConstraint(
                fields=["schedule", "slot_at"],
                condition=models.Q(schedule__isnull=False),
                name="feeders_command_one_per_slot",
            ),
            # One command per slot key too: a meal moved by an edit keeps its key, and a slot the
            # feeder served on its own (a row written at its upload) is never dispatched again.
            models.UniqueConstraint(
                fields=["schedule", "slot_key"],
                condition=models.Q(schedule__isnull=False, slot_key__isnull=False),
                name="feeders_command_one_per_slot_key",
            ),
        ]
        indexes: ClassVar = [
            models.Index(fields=["feeder", "status"], name="feeders_command_feeder_status"),
            # The reconciler reads open commands only: few, whatever the history holds.
            models.Index(
                fields=["expires_at"],
                condition=models.Q(status__in=["pending", "sent"]),
                name="feeders_command_open",
            ),
            # For an account's deletion (SET_NULL): meals, most commands, are nobody's and cost no entry.
            models.Index(
                fields=["ordered_by"], condition=models.Q(ordered_by__isnull=False), name="feeders_command_ordered_by"
            ),
            # Slots waiting for an offline feeder's report: few, whatever the history holds.
            models.Index(
                fields=["expires_at"], condition=models.Q(status="unreported"), name="feeders_command_unreported"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.grams} g on {self.feeder_id} ({self.status})"


class FeedEvent(models.Model):
    """Food dispensed. `event_id` (client-chosen) makes a repeated report a no-op."""

    feeder = models.ForeignKey(Feeder, on_delete=models.CASCADE, related_name="feed_events")
    pet = models.ForeignKey(Pet, on_delete=models.CASCADE, null=True, blank=True, related_name="feed_events")
    grams = models.PositiveIntegerField(validators=[MinValueValidator(1), MaxValueValidator(MAX_PORTION_GRAMS)])
    source = models.CharField(max_length=16, choices=FeedSource.choices)
    command = models.ForeignKey(
        FeedCommand, on_delete=models.SET_NULL, null=True, blank=True, related_name="feed_events"
    )
    # NULL, not "": events without an id are exempt from the uniqueness below.
    event_id = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    fed_at = models.DateTimeField()
    # Its command's `ordered_by`, kept on the feeding itself: history outlives purged commands.
    ordered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_index=False
    )
    offline = models.BooleanField(default=False, help_text="Dispensed by the feeder on its own while offline.")
    clock_untrusted = models.BooleanField(
        default=False, help_text="The device's clock was too far out: fed_at is the slot's time, not the device's."
    )

    class Meta:
        ordering = ("-fed_at", "-id")
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["feeder", "event_id"],
                condition=models.Q(event_id__isnull=False),
                name="feeders_feedevent_event_id_unique_per_feeder",
            ),
        ]
        indexes: ClassVar = [
            models.Index(fields=["pet", "fed_at"], name="feeders_feedevent_pet_fed"),
            models.Index(fields=["feeder", "fed_at"], name="feeders_feedevent_feeder_fed"),
            # As the command's: a device's own feedings, most of them, cost no entry.
            models.Index(
                fields=["ordered_by"], condition=models.Q(ordered_by__isnull=False), name="feeders_feedevent_ordered_by"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.grams} g at {self.fed_at:%Y-%m-%d %H:%M}"
