from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus

from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.urls import reverse

from apps.accounts.ratelimits import admin_login_retry_after, allauth_retry_after


class LoginRateLimitMiddleware:
    """Limits POSTs to the admin login, and adds Retry-After to allauth's 429s."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.admin_login_path = reverse("admin:login")

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method == "POST" and request.path == self.admin_login_path:
            wait = admin_login_retry_after(request)
            if wait:
                return too_many_requests(request, wait)
        response = self.get_response(request)
        if response.status_code == HTTPStatus.TOO_MANY_REQUESTS and not response.has_header("Retry-After"):
            response["Retry-After"] = str(allauth_retry_after(request))
        return response


def too_many_requests(request: HttpRequest, wait: int) -> HttpResponse:
    content = render_to_string("429.html", {"retry_after": wait}, request=request)
    response = HttpResponse(content, status=HTTPStatus.TOO_MANY_REQUESTS)
    response["Retry-After"] = str(wait)
    return response
