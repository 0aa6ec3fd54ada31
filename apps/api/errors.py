"""Every error answer: problem+json on API routes, a styled page elsewhere.

Django's error handlers (handler400/403/404/500, the CSRF failure view) and
ErrorResponseMiddleware (for errors no handler renders, like a bare 405) all
come through `error_response`, so a status looks the same wherever it arises.
"""

from __future__ import annotations

from http import HTTPStatus

from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string

from apps.api.problems import (
    TOO_LARGE,
    UNAVAILABLE_KIND,
    UNAVAILABLE_RETRY_AFTER,
    problem_response,
    too_large_detail,
    unavailable_detail,
)

API_PREFIXES = ("/api/", "/_allauth/")

DETAILS = {
    400: "The request could not be understood.",
    401: "Log in, or send an app token in the X-Session-Token header.",
    403: "You may not do this.",
    404: "Not found.",
    405: "This method is not allowed here.",
    408: "The request took too long to arrive.",
    413: "The request is too large.",
    415: "Send the body as application/json.",
    429: "Too many requests; wait before trying again.",
    500: "Something went wrong on our side.",
    503: "The service is busy or in maintenance; try again shortly.",
}
KEPT_HEADERS = ("Allow", "Retry-After", "WWW-Authenticate")


def is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIXES)


def error_response(
    request: HttpRequest,
    status: int,
    detail: str | None = None,
    *,
    correlation_id: str | None = None,
    kind: str | None = None,
) -> HttpResponse:
    detail = detail or DETAILS.get(status) or HTTPStatus(status).description
    if is_api(request):
        return problem_response(status, detail, kind=kind, correlation_id=correlation_id)
    return HttpResponse(error_page(status, detail, correlation_id=correlation_id), status=status)


def error_page(status: int, detail: str, *, correlation_id: str | None = None) -> str:
    """The styled error page; it needs no request, so it renders when nothing else can (no session, no database)."""
    context = {"status": status, "title": HTTPStatus(status).phrase, "detail": detail, "correlation_id": correlation_id}
    return render_to_string("errors/error.html", context)


def unavailable(request: HttpRequest, exception: BaseException) -> HttpResponse:
    """A dependency down or too slow: 503 with Retry-After, problem+json on the API, the styled page elsewhere."""
    correlation_id = getattr(request, "correlation_id", None)
    detail = unavailable_detail(exception)
    response = error_response(request, 503, detail, correlation_id=correlation_id, kind=UNAVAILABLE_KIND)
    response["Retry-After"] = str(UNAVAILABLE_RETRY_AFTER)
    return response


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if isinstance(exception, TOO_LARGE):
        return error_response(request, 413, too_large_detail(exception))
    return error_response(request, 400)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    return error_response(request, 403)


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    return error_response(request, 404)


def not_routed(request: HttpRequest) -> HttpResponse:
    """For paths a library mounts that the product does not offer."""
    return error_response(request, 404)


def server_error(request: HttpRequest) -> HttpResponse:
    return error_response(request, 500)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    return error_response(request, 403, "The CSRF check failed: reload the page and try again.")
