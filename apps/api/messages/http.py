"""Typed messages over HTTP: `GET|POST /api/messages/<Name>`.

Two doors to one pipeline (route, authenticate, authorize, decode, call, encode):

- `MessagePath`, a raw ASGI app that catfeeder/asgi.py puts in front of
  Django. Token and anonymous calls are answered there with no Django
  request, no middleware and no thread unless the handler or the credential
  check needs the database. This is the lean path: Django's HTTP machinery
  costs more than an arithmetic message itself by two orders of magnitude.
- `message_view`, the same pipeline as a Django view, for browsers (an Origin
  header or the session cookie: they need Django's CORS, session and CSRF
  machinery; MessagePath hands them over), for WSGI deployments and for
  Django's test client.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from ninja.utils import check_csrf
from redis.exceptions import RedisError

from apps.accounts.models import User
from apps.api.messages.auth import caller_from_credentials
from apps.api.messages.core import ANONYMOUS, Caller, CallerKind, Context, Entry, Message, MessageError, registry
from apps.api.messages.dispatch import authorize, decode_body, decode_query, encode, invoke, invoke_sync, run_sync
from apps.api.messages.publish import push_to_caller, push_to_caller_sync
from apps.api.problems import PROBLEM_CONTENT_TYPE, problem_document
from apps.api.ratelimit import Rate, ahit, hit
from catfeeder.http_limits import BARE_HEADERS

logger = logging.getLogger("apps.api.messages")

PREFIX = "/api/messages/"
JSON = "application/json"
Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
WANTED_HEADERS = frozenset(
    {b"x-session-token", b"authorization", b"cookie", b"origin", b"content-type", b"content-length"}
)
# Django's security middleware never sees these answers: the same headers as every answer below it.
BASE_HEADERS = [*(h for h in BARE_HEADERS if h[0] != b"content-type"), (b"cache-control", b"no-store")]


@dataclass
class Answer:
    status: int
    body: bytes
    content_type: str = JSON
    headers: dict[str, str] = field(default_factory=dict)

    def asgi_headers(self) -> list[tuple[bytes, bytes]]:
        extra = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in self.headers.items()]
        return [(b"content-type", self.content_type.encode()), (b"content-length", b"%d" % len(self.body)),
                *BASE_HEADERS, *extra]  # fmt: skip

    def django(self) -> HttpResponse:
        """As a Django response: its middleware adds the security headers itself."""
        response = HttpResponse(self.body, status=self.status, content_type=self.content_type)
        for name, value in [("Cache-Control", "no-store"), *self.headers.items()]:
            response[name] = value
        return response


def reply_answer(reply: Message) -> Answer:
    return Answer(200, encode(reply).encode())


def error_answer(error: MessageError) -> Answer:
    kind = error.code.replace("_", "-")
    body = problem_document(
        error.status, error.message, kind=kind, errors=error.errors, correlation_id=error.correlation_id
    )
    return Answer(error.status, json.dumps(body, allow_nan=False).encode(), PROBLEM_CONTENT_TYPE, error.headers)


def allowed_methods(entry: Entry) -> str:
    return "GET, POST" if entry.queryable else "POST"


def route(name: str, method: str) -> Entry:
    entry = registry.get(name, "http")
    if entry is None:
        raise MessageError("not_found", f"No message named {name[:64]!r}.", status=404)
    if method != "POST" and not (method == "GET" and entry.queryable):
        allowed = allowed_methods(entry)
        raise MessageError(
            "method_not_allowed", f"{entry.name} takes {allowed}.", status=405, headers={"Allow": allowed}
        )
    return entry


def check_json(content_type: str | None, content_length: str | None, query: bytes | str) -> None:
    if query:
        raise MessageError("invalid_message", "POST takes its fields from the JSON body, not the query.", status=400)
    if (content_type or "").split(";")[0].strip().lower() != JSON:
        raise MessageError("unsupported_media_type", "Send the fields as a JSON object (application/json).", status=415)
    if content_length is not None and (
        not content_length.isdigit() or int(content_length) > settings.MESSAGE_MAX_BYTES
    ):
        raise too_big()


# -- rate limits: the REST API's, counted in the same windows ------------------------------
def _refusal(wait: int) -> MessageError:
    detail = f"Too many requests; try again in {wait} s."
    return MessageError("rate_limited", detail, status=429, headers={"Retry-After": str(wait)})


def limited_keys(entry: Entry, caller: Caller | None, client: str, has_credentials: bool) -> list[tuple[str, str]]:
    """Windows a call counts in: (key, rate setting): before authentication (caller None) its
    address, after it its owner. A pure message from nobody costs less than counting it (one
    Redis round trip), so it counts nowhere."""
    if caller is None:
        return [] if entry.pure and not has_credentials else [(f"api:ip:{client}", "API_RATE_LIMIT_IP")]
    if caller.kind is CallerKind.OWNER and caller.user is not None:
        return [(f"api:user:{caller.user.pk}", "API_RATE_LIMIT_USER")]
    return []


async def arate_limit(keys: list[tuple[str, str]]) -> None:
    for key, setting in keys:
        try:
            allowed, wait = await ahit(key, Rate.parse(getattr(settings, setting)))
        except RedisError:
            logger.warning("rate limit not counted: Redis is unreachable", exc_info=True)
            return  # open: without Redis no credential can be checked either
        if not allowed:
            raise _refusal(wait)


def rate_limit(keys: list[tuple[str, str]]) -> None:
    for key, setting in keys:
        try:
            allowed, wait = hit(key, Rate.parse(getattr(settings, setting)))
        except RedisError:
            logger.warning("rate limit not counted: Redis is unreachable", exc_info=True)
            return
        if not allowed:
            raise _refusal(wait)


def too_big() -> MessageError:
    return MessageError("too_big", f"The body is over {settings.MESSAGE_MAX_BYTES} bytes.", status=413)


# -- the lean ASGI door -------------------------------------------------------------------
class MessagePath:
    """Answers /api/messages/ itself; passes everything else to `django`."""

    def __init__(self, django: ASGIApp) -> None:
        self.django = django
        self.session_cookie = settings.SESSION_COOKIE_NAME.encode() + b"="

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(PREFIX):
            return await self.django(scope, receive, send)
        headers = {k: v for k, v in scope["headers"] if k in WANTED_HEADERS}
        has_token = b"x-session-token" in headers or b"authorization" in headers
        if b"origin" in headers or (not has_token and self.session_cookie in headers.get(b"cookie", b"")):
            # A browser: Django's middleware answers CORS (and preflights), checks the session and CSRF.
            return await self.django(scope, receive, send)
        answer = await self.answer(scope, receive, {k.decode(): v.decode("latin-1") for k, v in headers.items()})
        await send({"type": "http.response.start", "status": answer.status, "headers": answer.asgi_headers()})
        await send({"type": "http.response.body", "body": answer.body})
        return None

    async def answer(self, scope: Scope, receive: Receive, headers: dict[str, str]) -> Answer:
        try:
            entry = route(scope["path"][len(PREFIX) :], scope["method"])
            caller = ANONYMOUS
            app_token, authorization = headers.get("x-session-token"), headers.get("authorization")
            owner_token = app_token is not None and CallerKind.OWNER in entry.callers
            has_credentials = owner_token or (authorization is not None and CallerKind.DEVICE in entry.callers)
            client = (scope.get("client") or ("unknown",))[0]
            await arate_limit(limited_keys(entry, None, client, has_credentials))
            if has_credentials:
                check = caller_from_credentials  # a thread: the checks read the cache and the database
                caller = await run_sync(check, app_token=app_token, authorization=authorization, accepts=entry.callers)
                note_caller(scope, caller)
                await arate_limit(limited_keys(entry, caller, client, has_credentials))
            authorize(entry, caller)
            if scope["method"] == "GET":
                message = decode_query(entry, scope["query_string"])
            else:
                check_json(headers.get("content-type"), headers.get("content-length"), scope["query_string"])
                message = decode_body(entry, await read_body(receive))
            context = Context(caller, "http")
            reply = await invoke(entry, message, context)
            for push in context.pushes:
                await push_to_caller(caller, push)
            return reply_answer(reply)
        except MessageError as error:
            return error_answer(error)


def note_caller(scope: Scope, caller: Caller) -> None:
    """Name the caller in the web process's log line for this request (the `catfeeder.log` scope extension)."""
    fields = scope.get("catfeeder.log")
    if fields is not None:
        fields.update({"user_id": caller.user.pk if caller.user else None,
                       "feeder_id": caller.feeder.pk if caller.feeder else None})  # fmt: skip


async def read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        event = await receive()
        if event["type"] == "http.disconnect":
            raise MessageError("invalid_message", "The client went away.", status=400)
        chunk = event.get("body", b"")
        size += len(chunk)
        if size > settings.MESSAGE_MAX_BYTES:
            raise too_big()
        chunks.append(chunk)
        if not event.get("more_body"):
            return b"".join(chunks)


# -- the Django door --------------------------------------------------------------------
def django_caller(request: HttpRequest, entry: Entry) -> Caller:
    app_token = request.headers.get("X-Session-Token")
    authorization = request.headers.get("Authorization")
    if app_token is not None or authorization is not None:
        return caller_from_credentials(app_token=app_token, authorization=authorization, accepts=entry.callers)
    user = request.user
    if CallerKind.OWNER in entry.callers and isinstance(user, User) and user.is_authenticated and user.is_active:
        if request.method == "POST" and check_csrf(request) is not None:
            raise MessageError("forbidden", "CSRF check failed: send the X-CSRFToken header.", status=403)
        return Caller(CallerKind.OWNER, user=user)
    return ANONYMOUS


@csrf_exempt  # CSRF matters only for session callers, and django_caller checks it for them
def message_view(request: HttpRequest, name: str) -> HttpResponse:
    try:
        entry = route(name, request.method or "GET")
        client = str(request.META.get("REMOTE_ADDR", "unknown"))
        rate_limit(limited_keys(entry, None, client, has_credentials=True))  # a browser: always counted
        caller = django_caller(request, entry)
        rate_limit(limited_keys(entry, caller, client, has_credentials=True))
        authorize(entry, caller)
        query = request.META.get("QUERY_STRING", "")
        if request.method == "GET":
            message = decode_query(entry, query)
        else:
            check_json(request.content_type, request.headers.get("Content-Length"), query)
            message = decode_body(entry, request.body)
        context = Context(caller, "http")
        reply = invoke_sync(entry, message, context)
        for push in context.pushes:
            push_to_caller_sync(caller, push)
        return reply_answer(reply).django()
    except MessageError as error:
        return error_answer(error).django()
