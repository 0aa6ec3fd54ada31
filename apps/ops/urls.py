from __future__ import annotations

from django.urls import path

from apps.ops import views

app_name = "ops"

urlpatterns = [
    path("health", views.health, name="health"),
    path("health/live", views.health_live, name="health-live"),
    path("health/ready", views.health_ready, name="health-ready"),
    path("metrics", views.metrics, name="metrics"),
    path("api/ops/worker-ping", views.worker_ping, name="worker-ping"),
]
