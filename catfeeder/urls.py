from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from apps.api.api import api
from apps.api.messages.docs import asyncapi_view
from apps.api.messages.http import message_view

urlpatterns = [
    path("admin/", admin.site.urls),
    # issue 5: messages over HTTP for session callers and WSGI (the ASGI app answers the rest first)
    path("api/messages/<str:name>", message_view, name="message"),
    path("api/asyncapi.json", asyncapi_view, name="asyncapi"),
    path("api/", api.urls),
    path("accounts/", include("allauth.urls")),
    path("_allauth/", include("allauth.headless.urls")),
    path("health/", include("apps.ops.urls")),
]

handler404 = "apps.api.views.not_found"
handler500 = "apps.api.views.server_error"
