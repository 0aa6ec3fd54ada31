from __future__ import annotations

from django.urls import path

from apps.web import views

app_name = "web"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("feed/", views.feed_now, name="feed-now"),
    path("pets/", views.pet_list, name="pets"),
    path("pets/new/", views.pet_create, name="pet-create"),
    path("pets/<int:pet_id>/", views.pet_detail, name="pet"),
    path("pets/<int:pet_id>/delete/", views.pet_delete, name="pet-delete"),
    path("pets/<int:pet_id>/photos/", views.photo_upload, name="photo-upload"),
    path("feeders/", views.feeder_list, name="feeders"),
    path("feeders/new/", views.feeder_create, name="feeder-create"),
    path("feeders/<int:feeder_id>/", views.feeder_detail, name="feeder"),
    path("feeders/<int:feeder_id>/pair/", views.feeder_pair, name="feeder-pair"),
    path("feeders/<int:feeder_id>/delete/", views.feeder_delete, name="feeder-delete"),
    path("collar-tags/", views.beacon_list, name="beacons"),
    path("collar-tags/<int:beacon_id>/", views.beacon_detail, name="beacon"),
    path("collar-tags/<int:beacon_id>/delete/", views.beacon_delete, name="beacon-delete"),
    path("schedules/", views.schedules, name="schedules"),
    path("schedules/<int:schedule_id>/", views.schedule_update, name="schedule"),
    path("schedules/<int:schedule_id>/delete/", views.schedule_delete, name="schedule-delete"),
    path("history/", views.history, name="history"),
]
