from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from apps.api.api import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("accounts/", include("apps.accounts.urls")),  # issue 3: profile, deletion, ending one session
    path("accounts/", include("allauth.urls")),
    path("_allauth/", include("allauth.headless.urls")),
    path("health/", include("apps.ops.urls")),
]

handler404 = "apps.api.views.not_found"
handler500 = "apps.api.views.server_error"
