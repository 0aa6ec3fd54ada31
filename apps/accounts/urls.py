from __future__ import annotations

from django.urls import path

from apps.accounts import views

app_name = "accounts"

urlpatterns = [
    path("profile/", views.profile, name="profile"),
    path("delete/", views.account_delete, name="delete"),
    path("sessions/<int:session_id>/end/", views.session_end, name="session-end"),
]
