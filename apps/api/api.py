"""The NinjaAPI instance: every REST router mounts here, under /api/.

The framework knows no app's routes: each app mounts its routers when it is
ready, with ninja's own `add_router` (before the URLconf reads `api.urls`):

    class NotificationsConfig(AppConfig):
        def ready(self) -> None:
            from apps.api.api import api
            from apps.notifications.api import router

            api.add_router("/me/alerts", router, tags=["me"])

Every failure answers RFC 9457 problem+json (see problems.py): validation
errors with per-field `errors[]`, 404 without saying whether the object
exists for someone else, and 500 with only a correlation id.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable
from functools import cached_property
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, Throttled, ValidationError
from ninja.parser import Parser

from apps.api.auth import owner_auth
from apps.api.messages.docs import add_openapi_paths
from apps.api.problems import (
    PROBLEM_CONTENT_TYPE,
    TOO_LARGE,
    UNAVAILABLE,
    Problem,
    field_errors,
    problem_response,
    too_large_detail,
    unavailable_response,
)
from apps.api.ratelimit import api_throttles
from apps.api.renderer import JsonRenderer

logger = logging.getLogger(__name__)


class BodyNotAnObject(ValueError):
    pass


class NotJson(ValueError):
    pass


class ObjectBodyParser(Parser):
    """JSON bodies must be JSON and objects: ninja would take `[]` or `5` as an empty update."""

    def parse_body(self, request: HttpRequest) -> dict[str, Any]:
        content_type = request.content_type or ""
        if content_type != "application/json" and not content_type.endswith("+json"):
            raise NotJson(f"Send the body as application/json, not {content_type or 'nothing'}.")
        data = json.loads(request.body)
        if not isinstance(data, dict):
            raise BodyNotAnObject(f"The body must be a JSON object, not {type(data).__name__}.")
        return data


class CatFeederAPI(NinjaAPI):
    def get_openapi_schema(self, *, path_prefix: str | None = None, path_params: dict[str, Any] | None = None) -> Any:
        """The schema, built once per process: the routes do not change while it runs.

        Building it takes about a second of CPU (pydantic's JSON schemas of every model), and
        ninja builds it again for each GET of /api/openapi.json, the docs page's first request.
        """
        key = (path_prefix, tuple(sorted((path_params or {}).items())))
        if key not in self._schemas:
            self._schemas[key] = self._schema_built(path_prefix=path_prefix, path_params=path_params)
        return self._schemas[key]

    @cached_property
    def _schemas(self) -> dict[tuple[str | None, tuple[tuple[str, Any], ...]], Any]:
        return {}

    def _schema_built(self, *, path_prefix: str | None, path_params: dict[str, Any] | None) -> Any:
        """Document error responses with the media type they really have, and the message paths."""
        schema = add_openapi_paths(super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params))
        for operations in schema["paths"].values():
            for operation in operations.values():
                for status, response in operation.get("responses", {}).items():
                    if int(status) >= 400 and "application/json" in response.get("content", {}):
                        response["content"] = {PROBLEM_CONTENT_TYPE: response["content"]["application/json"]}
        return schema

    def set_default_exception_handlers(self) -> None:
        # Most specific first is not needed: ninja walks each exception's MRO.
        for exc_class, handler in EXCEPTION_HANDLERS:
            self.add_exception_handler(exc_class, handler)


def on_problem(request: HttpRequest, exc: Problem) -> HttpResponse:
    return problem_response(exc.status, exc.detail, kind=exc.kind, errors=exc.errors, headers=exc.headers)


def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    errors = field_errors(exc.errors)
    if request.content_type != "multipart/form-data" and any(e["loc"][:1] == ["file"] for e in errors):
        # A file field missing because the body is JSON or raw bytes: the media type is the problem.
        detail = "Send the body as multipart/form-data, the file in its named field."
        return problem_response(415, detail, kind="multipart-expected", errors=errors)
    return problem_response(422, "The request has invalid fields.", kind="validation", errors=errors)


def on_authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    detail = "Log in, or send an app token in the X-Session-Token header."
    return problem_response(401, detail, kind="unauthenticated", headers={"WWW-Authenticate": "X-Session-Token"})


def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    headers = {"Retry-After": str(exc.wait)} if isinstance(exc, Throttled) and exc.wait else None
    status, detail, cause = exc.status_code, str(exc), exc.__cause__
    # ninja reports any body it cannot read as one 400; say which problem it is.
    if isinstance(cause, TOO_LARGE):
        status, detail = 413, too_large_detail(cause)
    elif isinstance(cause, NotJson):
        status, detail = 415, str(cause)
    elif isinstance(cause, BodyNotAnObject):
        detail = str(cause)
    elif isinstance(cause, json.JSONDecodeError | UnicodeDecodeError):
        detail = f"The body is not valid JSON ({cause})."
    return problem_response(status, detail, headers=headers)


def on_not_found(request: HttpRequest, exc: Exception) -> HttpResponse:
    return problem_response(404, "Not found.", kind="not-found")


def on_permission_denied(request: HttpRequest, exc: Exception) -> HttpResponse:
    return problem_response(403, str(exc) or "You may not do this.", kind="forbidden")


def on_unreadable_form(request: HttpRequest, exc: Exception) -> HttpResponse:
    """A multipart body Django will not parse: over a limit (413) or malformed (400).

    JSON bodies reach ninja's parser and come back as HttpError; file fields
    are read from request.FILES, whose errors arrive here as they are.
    """
    if isinstance(exc, TOO_LARGE):
        return problem_response(413, too_large_detail(exc))
    if isinstance(exc, MultiPartParserError):
        return problem_response(400, "The multipart body cannot be read (is its boundary right?).")
    return problem_response(400, "The request could not be understood.")


def on_unavailable(request: HttpRequest, exc: Exception) -> HttpResponse:
    """A dependency down or too slow, in the auth layer, a throttle or a handler: 503, not 500."""
    correlation_id = getattr(request, "correlation_id", None)
    logger.warning("%s %s: dependency unavailable (%s: %s)", request.method, request.path, type(exc).__name__, exc)
    return unavailable_response(exc, correlation_id=correlation_id)


def on_unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    correlation_id = getattr(request, "correlation_id", None) or uuid.uuid4().hex
    logger.exception("unhandled error in %s %s [%s]", request.method, request.path, correlation_id)
    detail = "Something went wrong on our side; quote the correlation id when you report it."
    return problem_response(500, detail, kind="internal", correlation_id=correlation_id)


EXCEPTION_HANDLERS: list[tuple[type[Exception], Callable[[HttpRequest, Any], HttpResponse]]] = [
    (Problem, on_problem),
    (ValidationError, on_validation_error),
    (AuthenticationError, on_authentication_error),
    (HttpError, on_http_error),
    (Http404, on_not_found),
    (PermissionDenied, on_permission_denied),
    (SuspiciousOperation, on_unreadable_form),  # RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
    (MultiPartParserError, on_unreadable_form),
    *((exc_class, on_unavailable) for exc_class in UNAVAILABLE),
    (Exception, on_unexpected),
]


API_DESCRIPTION = """Feeders, collar tags, pets, allowances and meal schedules.
Errors are RFC 9457 `application/problem+json`.

## Authentication

Accounts (sign-up, log-in, e-mail verification, password reset, social log-in,
sessions) are served by allauth's headless API under `/_allauth/`, documented
at [/_allauth/openapi.html](/_allauth/openapi.html). It has two clients:

- **app** (`/_allauth/app/v1/`, mobile and desktop apps): `POST /_allauth/app/v1/auth/login`
  with `{"email", "password"}` answers `meta.session_token`. Send it in the
  `X-Session-Token` header on every call here. It lasts until the app logs out
  (`DELETE /_allauth/app/v1/auth/session`), the owner ends it
  (`DELETE /api/me/sessions/{id}`, or everything with `DELETE /api/me/sessions`),
  the password changes, or it goes unused for the session age (14 days by default);
  then calls answer 401.
- **browser** (`/_allauth/browser/v1/`, a single-page app on this site): the
  same calls set the session cookie instead. Send the `X-CSRFToken` header
  (from the `csrftoken` cookie) on every write, here as there.

The web pages under `/accounts/` use the same session cookie.
"""


def build_api() -> CatFeederAPI:
    api = CatFeederAPI(
        title="Cat Feeder API",
        version=settings.CATFEEDER_VERSION,
        description=API_DESCRIPTION,
        auth=owner_auth,
        urls_namespace="api",
        parser=ObjectBodyParser(),
        renderer=JsonRenderer(),
        throttle=api_throttles(),
    )
    return api


api = build_api()
