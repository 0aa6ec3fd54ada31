"""Maintenance mode and dependency outages, as the API's callers see them.

- Maintenance on: every write under /api/ answers 503 problem+json with
  Retry-After. Reads go on; the admin and pages keep working (pages show a
  banner through `apps.ops.context_processors`).
- A critical dependency down (database, cache, broker, channel layer, as the
  readiness probe last saw it): writes under /api/ answer 503 the same way,
  instead of failing half-way or hanging on a queue that is not there.
- A dependency failing under a request (database, Redis, broker: anywhere,
  in a view or in a middleware such as the session's) answers 503 with
  Retry-After, problem+json on the API and the styled page elsewhere: never a
  500 or a stack trace.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any

from django.core.signals import got_request_exception
from django.http import HttpRequest, HttpResponse
from django.utils.functional import empty

from apps.api.errors import unavailable
from apps.api.problems import UNAVAILABLE, UNAVAILABLE_RETRY_AFTER
from apps.ops.correlation import LOG_FIELDS, correlation_id_get, new_correlation_id
from apps.ops.problem import problem_response
from apps.ops.readiness import READY_MAX_AGE, readiness_get
from apps.ops.selectors import maintenance_get

logger = logging.getLogger(__name__)

API_PREFIX = "/api/"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
OUTAGE_RETRY_AFTER = UNAVAILABLE_RETRY_AFTER  # seconds
FAILURE = "catfeeder_dependency_failure"  # request attribute: the dependency error behind a 500


def dependency_failure_note(sender: Any, request: HttpRequest | None = None, **kwargs: Any) -> None:
    """Remember on the request a dependency error that Django turns into a 500.

    Django converts an exception into a response at every middleware layer, so
    one raised below this middleware (a session saved to a Redis that is gone)
    arrives here as a 500; the signal, sent while the exception is handled,
    tells which exception it was.
    """
    cause = outage_cause(sys.exception())
    if request is not None and cause is not None and getattr(request, FAILURE, None) is None:
        setattr(request, FAILURE, cause)


def outage_cause(exception: BaseException | None) -> BaseException | None:
    """The dependency error behind `exception`: itself, or one it was raised while handling
    (a session left half-loaded by a cache error fails again on saving)."""
    for _ in range(10):  # a chain is short; never loop on a cycle
        if exception is None or isinstance(exception, UNAVAILABLE):
            return exception
        exception = exception.__cause__ or exception.__context__
    return None


class OutageTracebackFilter(logging.Filter):
    """Drops Django's "Internal Server Error" record, with its traceback, for a request answered 503 here.

    During an outage every request would log one; this middleware logs one warning line instead.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and outage_cause(record.exc_info[1]) is not None)


class OpsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        got_request_exception.connect(dependency_failure_note, dispatch_uid=FAILURE)
        request_logger = logging.getLogger("django.request")
        if not any(isinstance(f, OutageTracebackFilter) for f in request_logger.filters):
            request_logger.addFilter(OutageTracebackFilter())

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # The id of this request's log lines (set by the web process), for the API's 500 answer too.
        request.correlation_id = correlation_id_get() or new_correlation_id()  # type: ignore[attr-defined]
        if request.path.startswith(API_PREFIX) and request.method not in SAFE_METHODS:
            refusal = self.refuse_write()
            if refusal is not None:
                return refusal
        response = self.get_response(request)
        failure = getattr(request, FAILURE, None)
        if failure is not None and response.status_code == 500:
            logger.warning("%s %s: dependency unavailable (%s: %s)", request.method, request.path,
                           type(failure).__name__, failure)  # fmt: skip
            response = unavailable(request, failure)
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
        """A view's dependency error (log-in, sign-up, pages); the API's own handlers answer the API's."""
        if not isinstance(exception, UNAVAILABLE):
            return None
        logger.warning("%s %s: dependency unavailable (%s: %s)", request.method, request.path,
                       type(exception).__name__, exception)  # fmt: skip
        return unavailable(request, exception)


def request_log_fields(request: HttpRequest) -> None:
    """Give the web process's log line for this request its route and its user (see catfeeder.runtime.middleware).

    The user only when something already looked it up: a log line must not
    cost a session query.
    """
    scope = getattr(request, "scope", None) or request.META.get("asgi.scope")  # Django's ASGI, or our WSGI bridge
    fields = scope.get(LOG_FIELDS) if isinstance(scope, dict) else None
    if fields is None:  # the test client, a WSGI server: no log line to fill
        return
    match = request.resolver_match
    if match is not None and "route" not in fields:
        fields["route"] = match.route or match.view_name
    user = request.__dict__.get("user")
    if user is not None and getattr(user, "_wrapped", None) is not empty and user.is_authenticated:
        fields.setdefault("user_id", user.pk)
