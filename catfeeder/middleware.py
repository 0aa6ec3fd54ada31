from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from apps.api.errors import KEPT_HEADERS, error_response, is_api

PROBLEM = "application/problem+json"
JSON_ANSWERS = ("application/json", "application/health+json", PROBLEM)


class AppHeaderMiddleware:
    """Names the application and its version on every response."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.value = f"catfeeder/{settings.CATFEEDER_VERSION}"

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response["Server"] = self.value
        return response


class ErrorResponseMiddleware:
    """Gives errors that no handler rendered (a bare 405, an empty 4xx) their proper body.

    API routes answer problem+json, pages a styled error page; headers that
    tell the client what to do next (Allow, Retry-After, WWW-Authenticate) stay.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code < 400 or response.streaming or not self.needs_body(request, response):
            return response
        replacement = error_response(request, response.status_code)
        for name in KEPT_HEADERS:
            if name in response:
                replacement[name] = response[name]
        for cookie in response.cookies.values():  # e.g. a rotated CSRF cookie
            replacement.cookies[cookie.key] = cookie
        return replacement

    @staticmethod
    def needs_body(request: HttpRequest, response: HttpResponse) -> bool:
        content_type = response.get("Content-Type", "")
        if content_type.startswith(JSON_ANSWERS) and response.content:
            return False  # a machine's answer, already complete (e.g. /health/ready's 503 for a load balancer)
        if is_api(request):
            return not content_type.startswith(PROBLEM) and not content_type.startswith("application/json")
        return not content_type.startswith("text/html") or not response.content


class BodyLimitMiddleware:
    """413 for a request whose declared body is over its cap, before any of it is read.

    The web process's body reader (catfeeder.http_limits) refuses such a body
    before Django; this keeps the same answer under any other server
    (runserver, a WSGI server, the test client). Multipart uploads have their own, larger cap; other
    bodies are capped by DATA_UPLOAD_MAX_MEMORY_SIZE, which Django also
    enforces itself when a view reads the body.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return error_response(request, 400, "The Content-Length header is not a number.")
        multipart = request.content_type == "multipart/form-data"
        limit = settings.HTTP_MAX_UPLOAD_BYTES if multipart else settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is not None and length > limit:
            return error_response(request, 413, f"The request body is over {limit} bytes.")
        return self.get_response(request)
