from __future__ import annotations

from django.contrib import admin

from apps.notifications.models import Alert, AlertPreference, HeldEmail


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin[Alert]):
    list_display = ("opened_at", "kind", "subject", "owner", "mailed_at", "closed_at")
    list_filter = ("kind", "closed_at")
    search_fields = ("owner__email", "subject", "key")
    list_select_related = ("owner",)
    readonly_fields = ("owner", "kind", "key", "subject", "detail", "opened_at", "closed_at", "mailed_at")
    date_hierarchy = "opened_at"

    def has_add_permission(self, request: object) -> bool:
        return False


@admin.register(AlertPreference)
class AlertPreferenceAdmin(admin.ModelAdmin[AlertPreference]):
    list_display = ("owner", "feeder_offline", "meal_missed", "allowance_reached", "low_food", "command_failed")
    search_fields = ("owner__email",)
    raw_id_fields = ("owner",)


@admin.register(HeldEmail)
class HeldEmailAdmin(admin.ModelAdmin[HeldEmail]):
    """Mails waiting for the broker; the "held mail requeue" job empties this list (no bodies shown)."""

    list_display = ("held_at", "subject", "recipients", "error")
    fields = ("held_at", "subject", "recipients", "error")
    readonly_fields = fields

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False
