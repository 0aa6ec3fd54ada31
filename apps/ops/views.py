from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET


@require_GET
def health_live(request: HttpRequest) -> JsonResponse:
    """The process is up and serving: no dependency is consulted."""
    return JsonResponse({"status": "pass", "version": settings.CATFEEDER_VERSION})
