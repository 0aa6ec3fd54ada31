from __future__ import annotations

from django.urls import path

from apps.ops import views

app_name = "ops"

urlpatterns = [
    path("live", views.health_live, name="health-live"),
]
