"""Error pages outside ninja's routes: problem+json under /api/, HTML elsewhere."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views import defaults

from apps.api.problems import problem_response

API_PREFIXES = ("/api/", "/_allauth/")


def is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIXES)


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if is_api(request):
        return problem_response(404, "No such API route.", kind="not-found")
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if is_api(request):
        return problem_response(500, "Something went wrong on our side.", kind="internal")
    return defaults.server_error(request)
