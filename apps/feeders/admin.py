from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from apps.feeders.models import Beacon, DeviceToken, FeedCommand, Feeder, FeedEvent, MealSchedule, Pet, PetPhoto, Visit
from apps.feeders.models.access import FeederExclusion
from apps.feeders.services import devices as device_services
from apps.feeders.services import schedules as schedule_services


class FeederExclusionInline(admin.TabularInline[FeederExclusion, Feeder]):
    """Pets kept off this feeder. Deleting a row lets the pet eat here again (always safe); rows are
    added by the owner's list (page or API), whose service checks the owner and the schedules."""

    model = FeederExclusion
    fields = ("pet", "created_at")
    readonly_fields = fields
    extra = 0
    max_num = 0
    verbose_name_plural = "pets kept off this feeder (every other pet of the owner may eat here)"


@admin.register(Feeder)
class FeederAdmin(admin.ModelAdmin[Feeder]):
    list_display = ("name", "mac", "household", "is_online", "last_seen_at", "food_level_percent", "firmware_version")
    list_filter = ("is_online", "time_zone", "country")
    search_fields = ("name", "mac", "household__memberships__user__email", "city")
    list_select_related = ("household",)
    raw_id_fields = ("household",)
    readonly_fields = ("last_seen_at", "last_ip", "is_online", "created_at", "updated_at")
    inlines = (FeederExclusionInline,)


@admin.register(Beacon)
class BeaconAdmin(admin.ModelAdmin[Beacon]):
    list_display = ("name", "mac", "household", "created_at")
    search_fields = ("name", "mac", "household__memberships__user__email")
    list_select_related = ("household",)
    raw_id_fields = ("household",)
    readonly_fields = ("created_at", "updated_at")


@admin.register(Pet)
class PetAdmin(admin.ModelAdmin[Pet]):
    list_display = ("name", "household", "beacon", "allowance_grams", "period_minutes", "period_anchor", "time_zone")
    list_filter = ("time_zone", "period_minutes")
    search_fields = ("name", "microchip_id", "household__memberships__user__email", "beacon__mac")
    list_select_related = ("household", "beacon")
    raw_id_fields = ("household", "beacon")
    readonly_fields = ("created_at", "updated_at")


@admin.register(Visit)
class VisitAdmin(admin.ModelAdmin[Visit]):
    list_display = ("seen_at", "beacon_mac", "pet", "feeder")
    list_filter = ("seen_at",)
    search_fields = ("beacon_mac", "pet__name", "feeder__name", "feeder__household__memberships__user__email")
    list_select_related = ("pet", "feeder")
    raw_id_fields = ("pet", "feeder")
    date_hierarchy = "seen_at"


@admin.register(FeedEvent)
class FeedEventAdmin(admin.ModelAdmin[FeedEvent]):
    list_display = ("fed_at", "grams", "pet", "feeder", "source", "event_id")
    list_filter = ("source", "fed_at")
    search_fields = ("event_id", "pet__name", "feeder__name", "feeder__household__memberships__user__email")
    list_select_related = ("pet", "feeder")
    raw_id_fields = ("pet", "feeder", "command")
    readonly_fields = ("event_id", "ordered_by")  # a record of who pressed "feed now", not to be edited
    date_hierarchy = "fed_at"


class ScheduleCommandInline(admin.TabularInline[FeedCommand, MealSchedule]):
    """The schedule's recent slots and what became of each."""

    model = FeedCommand
    fields = ("slot_at", "status", "grams", "attempts", "deliveries", "sent_at", "completed_at", "error")
    readonly_fields = fields
    ordering = ("-slot_at",)
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True

    def get_queryset(self, request: HttpRequest) -> QuerySet[FeedCommand]:
        return super().get_queryset(request).order_by("-slot_at")


@admin.register(MealSchedule)
class MealScheduleAdmin(admin.ModelAdmin[MealSchedule]):
    list_display = ("id", "pet", "feeder", "times", "days_of_week", "grams", "time_zone", "enabled", "next_run_at")
    list_filter = ("enabled", "time_zone")
    search_fields = ("pet__name", "feeder__name", "pet__household__memberships__user__email")
    list_select_related = ("pet", "feeder")
    raw_id_fields = ("pet", "feeder")
    readonly_fields = ("next_run_at", "created_at", "updated_at")
    inlines = (ScheduleCommandInline,)

    def save_model(self, request: HttpRequest, obj: MealSchedule, form: Any, change: bool) -> None:
        # Through the service: next_run_at follows the times, a disabled schedule's open commands close.
        if change:
            schedule_services.schedule_update(
                schedule=obj, data={f: getattr(obj, f) for f in schedule_services.SCHEDULE_FIELDS}
            )
        else:
            super().save_model(request, obj, form, change)
            schedule_services.schedule_update(schedule=obj, data={})

    def delete_model(self, request: HttpRequest, obj: MealSchedule) -> None:
        schedule_services.schedule_delete(schedule=obj)


class CommandFeedingInline(admin.TabularInline[FeedEvent, FeedCommand]):
    model = FeedEvent
    fields = ("fed_at", "grams", "pet", "event_id")
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False


@admin.register(FeedCommand)
class FeedCommandAdmin(admin.ModelAdmin[FeedCommand]):
    """Commands and their history: created, each send (attempts), each delivery task, the result."""

    list_display = (
        "id", "feeder", "pet", "grams", "source", "status", "slot_at", "attempts", "deliveries", "created_at",
        "completed_at",
    )  # fmt: skip
    list_filter = ("status", "source", "created_at")
    search_fields = ("feeder__name", "pet__name", "feeder__household__memberships__user__email")
    list_select_related = ("feeder", "pet")
    raw_id_fields = ("feeder", "pet", "schedule")
    readonly_fields = (
        "status", "attempts", "deliveries", "created_at", "sent_at", "completed_at", "slot_at", "expires_at",
        "grams_dispensed", "error", "ordered_by",
    )  # fmt: skip
    date_hierarchy = "created_at"
    inlines = (CommandFeedingInline,)


# -- pet photos -------------------------------------------------------------------------
@admin.register(PetPhoto)
class PetPhotoAdmin(admin.ModelAdmin[PetPhoto]):
    """Rows only: operators see and delete photos (their files follow), never open them here."""

    list_display = ("id", "pet", "status", "content_type", "width", "height", "size_bytes", "created_at")
    list_filter = ("status", "content_type")
    search_fields = ("pet__name", "pet__household__memberships__user__email")
    list_select_related = ("pet",)
    raw_id_fields = ("pet",)
    readonly_fields = ("token", "status", "content_type", "width", "height", "size_bytes", "original", "thumbnails")


@admin.register(DeviceToken)
class DeviceTokenAdmin(admin.ModelAdmin[DeviceToken]):
    """Tokens are made by pairing and rotation only; here they are read and revoked."""

    list_display = ("prefix", "feeder", "created_at", "expires_at", "revoked_at")
    list_filter = ("revoked_at", "created_at")
    search_fields = ("prefix", "feeder__name", "feeder__mac", "feeder__household__memberships__user__email")
    list_select_related = ("feeder",)
    readonly_fields = ("feeder", "prefix", "created_at", "expires_at", "revoked_at")
    exclude = ("secret_hash",)
    actions = ("revoke_feeders_tokens",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Revoke every token of these feeders (their sockets close)")
    def revoke_feeders_tokens(self, request: HttpRequest, queryset: QuerySet[DeviceToken]) -> None:
        for feeder in Feeder.objects.filter(tokens__in=queryset).distinct():
            device_services.device_token_revoke(feeder=feeder)
