from __future__ import annotations

from django.urls import path, register_converter

from apps.api.types import BIGINT_MAX
from apps.web.views import beacons, dashboard, feeders, history, households, pets, schedules

app_name = "web"


class RowIdConverter:
    """A row id the database can hold: a larger one matches no route (404), where a foreign-key
    lookup with it would overflow (SQLite) or be refused (PostgreSQL)."""

    regex = "[0-9]{1,19}"

    def to_python(self, value: str) -> int:
        number = int(value)
        if number > BIGINT_MAX:
            raise ValueError(value)  # Django's way for a converter to say "no match"
        return number

    def to_url(self, value: int) -> str:
        return str(value)


register_converter(RowIdConverter, "rowid")

urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
    path("feed/", dashboard.feed_now, name="feed-now"),
    path("pets/", pets.pet_list, name="pets"),
    path("pets/new/", pets.pet_create, name="pet-create"),
    path("pets/<int:pet_id>/", pets.pet_detail, name="pet"),
    path("pets/<int:pet_id>/delete/", pets.pet_delete, name="pet-delete"),
    path("pets/<int:pet_id>/photos/", pets.photo_upload, name="photo-upload"),
    path("feeders/", feeders.feeder_list, name="feeders"),
    path("feeders/new/", feeders.feeder_create, name="feeder-create"),
    path("feeders/<int:feeder_id>/", feeders.feeder_detail, name="feeder"),
    path("feeders/<int:feeder_id>/pets/", feeders.feeder_pets, name="feeder-pets"),
    path("feeders/<int:feeder_id>/pair/", feeders.feeder_pair, name="feeder-pair"),
    path("feeders/<int:feeder_id>/delete/", feeders.feeder_delete, name="feeder-delete"),
    path("collar-tags/", beacons.beacon_list, name="beacons"),
    path("collar-tags/<int:beacon_id>/", beacons.beacon_detail, name="beacon"),
    path("collar-tags/<int:beacon_id>/delete/", beacons.beacon_delete, name="beacon-delete"),
    path("schedules/", schedules.schedules, name="schedules"),
    path("schedules/<int:schedule_id>/", schedules.schedule_update, name="schedule"),
    path("schedules/<int:schedule_id>/delete/", schedules.schedule_delete, name="schedule-delete"),
    path("history/", history.history, name="history"),
    path("households/switch/", households.household_switch, name="household-switch"),
    path("households/<rowid:household_id>/", households.household, name="household"),
    path("households/<rowid:household_id>/invitations/", households.invitation_create, name="invitation-create"),
    path(
        "households/<rowid:household_id>/invitations/<rowid:invitation_id>/revoke/",
        households.invitation_revoke,
        name="invitation-revoke",
    ),  # fmt: skip
    path("households/<rowid:household_id>/members/<rowid:user_id>/role/", households.member_role, name="member-role"),
    path(
        "households/<rowid:household_id>/members/<rowid:user_id>/remove/",
        households.member_remove,
        name="member-remove",
    ),
    path("households/<rowid:household_id>/leave/", households.household_leave, name="household-leave"),
    path("invitations/", households.invitation_answer, name="invitation-accept"),
]
