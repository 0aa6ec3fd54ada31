from __future__ import annotations

from django.urls import path

from apps.web.views import beacons, dashboard, feeders, history, pets, schedules

app_name = "web"

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
]
