"""Maintenance mode and dependency outages, as the API's callers see them.

- Maintenance on: every write under /api/ answers 503 problem+json with
  Retry-After. Reads go on; the admin and pages keep working (pages show a
  banner through `apps.ops.context_processors`).
- A critical dependency down (database, cache, broker, channel layer, as the
  readiness probe last saw it): writes under /api/ answer 503 the same way,
  instead of failing half-way or hanging on a queue that is not there.
- A database error anywhere answers 503 (problem+json under /api/), never a
  stack trace.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.utils.functional import empty

from apps.ops.correlation import correlation_id_get, new_correlation_id
from apps.ops.problem import problem_response
from apps.ops.readiness import READY_MAX_AGE, readiness_get
from apps.ops.selectors import maintenance_get
from catfeeder.runtime.middleware import LOG_FIELDS

API_PREFIX = "/api/"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
OUTAGE_RETRY_AFTER = 30  # seconds


class OpsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # The id of this request's log lines (set by the web process), for the API's 500 answer too.
        request.correlation_id = correlation_id_get() or new_correlation_id()  # type: ignore[attr-defined]
        if request.path.startswith(API_PREFIX) and request.method not in SAFE_METHODS:
            refusal = self.refuse_write()
            if refusal is not None:
                return refusal
        response = self.get_response(request)
        request_log_fields(request)
        return response

    @staticmethod
    def refuse_write() -> HttpResponse | None:
        maintenance = maintenance_get()
        if maintenance.enabled:
            return problem_response(
                status=503,
                detail=maintenance.message or "The service is in maintenance; changes are not accepted now.",
                kind="maintenance",
                retry_after=maintenance.retry_after,
            )
        down = readiness_get().critical_down
        if down:  # a "down" is checked again (at most a second old) before refusing: recovery shows at once
            down = readiness_get(wait=True, max_age=READY_MAX_AGE).critical_down
        if down:
            return problem_response(
                status=503,
                detail=f"Changes cannot be accepted now: {', '.join(down)} unavailable. Nothing was stored.",
                kind="dependency-unavailable",
                retry_after=OUTAGE_RETRY_AFTER,
            )
        return None

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        if request.path.startswith(API_PREFIX):
            return problem_response(
                status=503,
                detail="The database is unavailable; try again shortly.",
                kind="dependency-unavailable",
                retry_after=OUTAGE_RETRY_AFTER,
            )
        response = HttpResponse("Service unavailable: the database cannot be reached. Try again shortly.\n",
                                status=503, content_type="text/plain")  # fmt: skip
        response["Retry-After"] = str(OUTAGE_RETRY_AFTER)
        return response


def request_log_fields(request: HttpRequest) -> None:
    """Give the web process's log line for this request its route and its user (see catfeeder.runtime.middleware).

    The user only when something already looked it up: a log line must not
    cost a session query.
    """
    scope = getattr(request, "scope", None) or request.META.get("asgi.scope")  # Django's ASGI, or a2wsgi's WSGI
    fields = scope.get(LOG_FIELDS) if isinstance(scope, dict) else None
    if fields is None:  # the test client, a WSGI server: no log line to fill
        return
    match = request.resolver_match
    if match is not None and "route" not in fields:
        fields["route"] = match.route or match.view_name
    user = request.__dict__.get("user")
    if user is not None and getattr(user, "_wrapped", None) is not empty and user.is_authenticated:
        fields.setdefault("user_id", user.pk)
