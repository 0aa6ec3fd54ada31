from __future__ import annotations

from django.contrib import admin

from apps.households.models import Household, Membership


class MembershipInline(admin.TabularInline[Membership, Household]):
    model = Membership
    extra = 0
    raw_id_fields = ("user",)


@admin.register(Household)
class HouseholdAdmin(admin.ModelAdmin[Household]):
    list_display = ("name", "created_at")
    search_fields = ("name", "memberships__user__email")
    inlines = (MembershipInline,)
