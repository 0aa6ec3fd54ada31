from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path, re_path
from django.utils.functional import lazy
from django.views.generic import RedirectView

from apps.api import errors
from apps.api.api import api
from apps.api.messages.docs import asyncapi_view
from apps.api.messages.http import message_view

admin.site.site_header = f"{settings.PRODUCT_NAME} administration"
admin.site.site_title = f"{settings.PRODUCT_NAME} admin"  # in every admin page's <title>
admin.site.index_title = "Sections"

urlpatterns = [
    # Browsers ask for /favicon.ico on their own, whatever the page links. Its hashed name is looked
    # up per request (lazy): at import, a missing manifest would stop every URL, not only this one.
    path("favicon.ico", RedirectView.as_view(url=lazy(static, str)("favicon.ico"), permanent=True)),
    path("admin/", admin.site.urls),
    path("", include("apps.ops.urls")),  # /health, /health/live, /health/ready, /metrics, /api/ops/
    # Typed messages over HTTP for session callers and WSGI (the ASGI app answers the rest first)
    path("api/messages/<str:name>", message_view, name="message"),
    path("api/asyncapi.json", asyncapi_view, name="asyncapi"),
    path("api/", api.urls),
    path("accounts/", include("apps.accounts.urls")),  # profile, deletion, ending one session
    path("accounts/home-assistant/", include("apps.homeassistant.urls")),  # the link on or off
    path("accounts/", include("allauth.urls")),
    # No phone numbers here. allauth mounts its phone endpoints regardless, and
    # one of them answers an anonymous DELETE with a 500 (allauth 65.21).
    re_path(r"^_allauth/(?:app|browser)/v1/(?:account/phone|auth/phone/.*)$", errors.not_routed),
    path("_allauth/", include("allauth.headless.urls")),
    path("", include("apps.web.urls")),  # the owner pages
]

handler400 = "apps.api.errors.bad_request"
handler403 = "apps.api.errors.permission_denied"
handler404 = "apps.api.errors.not_found"
handler500 = "apps.api.errors.server_error"
