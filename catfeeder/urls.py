from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("apps.ops.urls")),  # /health, /health/live, /health/ready, /metrics, /api/ops/
]
