from __future__ import annotations

from collections.abc import Callable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.http import HttpRequest, HttpResponse
from django.utils import timezone


class OwnerTimeZoneMiddleware:
    """Times rendered for a logged-in owner (pages, messages, problem details) are in their zone.

    Django's documented recipe: activate per request, deactivate after it, so a
    thread never carries one owner's zone into the next request.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        zone = getattr(user, "time_zone", "") if user is not None and user.is_authenticated else ""
        try:
            timezone.activate(ZoneInfo(zone)) if zone else timezone.deactivate()
        except (ZoneInfoNotFoundError, ValueError):
            timezone.deactivate()  # a zone the system no longer knows: UTC rather than a 500
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
