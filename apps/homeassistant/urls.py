from __future__ import annotations

from django.urls import path

from apps.homeassistant import views

app_name = "homeassistant"

urlpatterns = [
    path("", views.home_assistant_settings, name="settings"),
]
