from __future__ import annotations

from django.contrib import admin

from apps.households.models import Household, Invitation, Membership


class MembershipInline(admin.TabularInline[Membership, Household]):
    model = Membership
    extra = 0
    raw_id_fields = ("user",)


class InvitationInline(admin.TabularInline[Invitation, Household]):
    """Read here; made, answered and revoked through the services (the code is mailed, never stored)."""

    model = Invitation
    fk_name = "household"
    extra = 0
    can_delete = False
    fields = ("email", "role", "status", "invited_by", "created_at", "expires_at", "answered_at")
    readonly_fields = fields

    def has_add_permission(self, request: object, obj: Household | None = None) -> bool:
        return False


@admin.register(Household)
class HouseholdAdmin(admin.ModelAdmin[Household]):
    list_display = ("name", "created_at")
    search_fields = ("name", "memberships__user__email")
    inlines = (MembershipInline, InvitationInline)
