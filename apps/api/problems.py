"""RFC 9457 problem details: the one error shape of every API and message route.

{"type": "about:blank", "title": "Not Found", "status": 404,
 "detail": "No feeder 12.", "errors": [{"loc": [...], "msg": "...", "type": "..."}]}
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import redis.exceptions
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.db import InterfaceError, OperationalError
from django.http import JsonResponse
from kombu.exceptions import OperationalError as BrokerError
from ninja import Schema

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_TYPE_PREFIX = "urn:catfeeder:problem:"

# Security headers for the answers given below Django (its middleware never sees them):
# the ASGI server's own answers and the typed-message HTTP route.
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
BARE_HEADERS = [
    (b"content-type", b"application/problem+json"),
    *SECURITY_HEADERS,
    (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'"),
]


class ProblemFieldError(Schema):
    loc: list[str | int]
    msg: str
    type: str


class ProblemOut(Schema):
    type: str = "about:blank"
    title: str
    status: int
    detail: str
    errors: list[ProblemFieldError] | None = None
    correlation_id: str | None = None


class Problem(Exception):  # noqa: N818 - it is the problem itself, raised
    """Raise from services and handlers to answer with a problem document."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        kind: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.kind = kind
        self.errors = errors
        self.headers = headers or {}


def problem_document(
    status: int,
    detail: str,
    *,
    kind: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    correlation_id: str | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": f"{PROBLEM_TYPE_PREFIX}{kind}" if kind else "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    if errors is not None:
        body["errors"] = errors
    if correlation_id is not None:
        body["correlation_id"] = correlation_id
    return body


def problem_response(
    status: int,
    detail: str,
    *,
    kind: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
    correlation_id: str | None = None,
) -> JsonResponse:
    body = problem_document(status, detail, kind=kind, errors=errors, correlation_id=correlation_id)
    response = JsonResponse(body, status=status, content_type=PROBLEM_CONTENT_TYPE)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def field_errors(pydantic_errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Ninja's validation errors as problem `errors[]`: where, what, which rule."""
    return [
        {"loc": [str(p) if not isinstance(p, int) else p for p in e.get("loc", ())], "msg": e["msg"], "type": e["type"]}
        for e in pydantic_errors
    ]


ERROR_STATUSES = (400, 401, 403, 404, 409, 413, 415, 422, 429, 500, 503)
ERROR_RESPONSES: dict[int, type[ProblemOut]] = dict.fromkeys(ERROR_STATUSES, ProblemOut)


def responses(ok: dict[int, Any]) -> dict[int, Any]:
    """An operation's documented responses: its own, plus every problem."""
    return {**ERROR_RESPONSES, **ok}


TOO_LARGE = (RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent)


def too_large_detail(exception: BaseException) -> str:
    if isinstance(exception, TooManyFieldsSent):
        return "Too many form fields."
    if isinstance(exception, TooManyFilesSent):
        return "Too many files."
    return "The request body is too large."


# A dependency that is down or too slow: PostgreSQL (Django wraps psycopg's errors), Redis
# (cache, sessions, rate limits, channel layer: redis-py's connection errors and socket
# timeouts) or the broker (kombu). Every route answers them 503 with Retry-After, never 500.
UNAVAILABLE = (
    OperationalError,
    InterfaceError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    BrokerError,
)
UNAVAILABLE_RETRY_AFTER = 30  # seconds
UNAVAILABLE_KIND = "dependency-unavailable"
DATABASE_DOWN = "The database is unavailable; try again shortly."


def unavailable_detail(exception: BaseException) -> str:
    if isinstance(exception, OperationalError | InterfaceError):
        return DATABASE_DOWN
    if isinstance(exception, BrokerError):
        return "The task queue is unavailable; try again shortly."
    return "A service this request needs is unavailable; try again shortly."


def unavailable_response(exception: BaseException, *, correlation_id: str | None) -> JsonResponse:
    return problem_response(
        503,
        unavailable_detail(exception),
        kind=UNAVAILABLE_KIND,
        headers={"Retry-After": str(UNAVAILABLE_RETRY_AFTER)},
        correlation_id=correlation_id,
    )
