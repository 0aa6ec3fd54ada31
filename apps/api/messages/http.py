"""Typed messages over HTTP: `GET|POST /api/messages/<Name>`.

One pipeline, `answer(call)`: route, rate limit, authenticate, authorize,
decode, call, encode. It has two doors, which only describe the request to it:

- `MessagePath`, a raw ASGI app that catfeeder/asgi.py puts in front of
  Django. Token and anonymous calls are answered there with no Django
  request, no middleware and no thread unless the handler or the credential
  check needs the database. Django's HTTP machinery costs more than an
  arithmetic message itself by two orders of magnitude.
- `message_view`, the Django view, for browsers (an Origin header or the
  session cookie: they need Django's CORS, session and CSRF machinery;
  MessagePath hands them over), for WSGI deployments and for Django's test
  client. It adds the browser session as a way to authenticate, and runs
  blocking work in the request's own thread.

A dependency that is down or hung answers 503 `dependency-unavailable` with Retry-After
and a correlation id, within MESSAGE_TIMEOUT seconds of blocking work.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from ninja.utils import check_csrf
from redis.exceptions import RedisError

from apps.api.messages.auth import caller_from_credentials, log_fields
from apps.api.messages.core import ANONYMOUS, Caller, CallerKind, Context, Entry, Message, MessageError, registry
from apps.api.messages.dispatch import (
    DEPENDENCY_ERRORS,
    Runner,
    as_message_error,
    authorize,
    bounded,
    deadline_in,
    decode_body,
    decode_query,
    encode,
    in_request_thread,
    invoke,
    run_sync,
)
from apps.api.messages.publish import push_to_caller
from apps.api.problems import BARE_HEADERS, PROBLEM_CONTENT_TYPE, problem_document
from apps.api.ratelimit import Rate, hit

logger = logging.getLogger("apps.api.messages")

PREFIX = "/api/messages/"
JSON = "application/json"
Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
WANTED_HEADERS = frozenset({"x-session-token", "authorization", "cookie", "origin", "content-type", "content-length"})
WANTED_RAW = frozenset(name.encode() for name in WANTED_HEADERS)  # as ASGI gives them: decode only these
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
    headers = error.headers if error.retry_after is None else {**error.headers, "Retry-After": str(error.retry_after)}
    return Answer(error.status, json.dumps(body, allow_nan=False).encode(), PROBLEM_CONTENT_TYPE, headers)


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
def limited_keys(entry: Entry, caller: Caller | None, client: str, counted: bool) -> list[tuple[str, str]]:
    """Windows a call counts in: (key, rate setting): before authentication (caller None) its
    address, after it its owner. A pure message from nobody (`counted` False: no credentials, not
    a browser) costs less than counting it (one Redis round trip), so it counts nowhere."""
    if caller is None:
        return [] if entry.pure and not counted else [(f"api:ip:{client}", "API_RATE_LIMIT_IP")]
    if caller.kind is CallerKind.OWNER and caller.id is not None:
        return [(f"api:user:{caller.id}", "API_RATE_LIMIT_USER")]
    return []


def rate_limit(keys: list[tuple[str, str]]) -> None:
    for key, setting in keys:
        try:
            allowed, wait = hit(key, Rate.parse(getattr(settings, setting)))
        except RedisError:
            logger.warning("rate limit not counted: Redis is unreachable", exc_info=True)
            return  # open: a call that needs Redis for more than counting answers 503 there
        if not allowed:
            detail = f"Too many requests; try again in {wait} s."
            raise MessageError("rate_limited", detail, status=429, retry_after=wait)


def too_big() -> MessageError:
    return MessageError("too_big", f"The body is over {settings.MESSAGE_MAX_BYTES} bytes.", status=413)


# -- the pipeline ----------------------------------------------------------------------------
SessionCaller = Callable[[Entry], Caller]


@dataclass(slots=True)
class Call:
    """One message call over HTTP, as a door describes it to `answer`."""

    name: str  # the path after PREFIX
    method: str
    query: bytes | str
    headers: Mapping[str, str]  # WANTED_HEADERS, lower-case names
    client: str  # the address rate limits count
    body: Callable[[], Awaitable[bytes]]
    run: Runner = run_sync  # where blocking work runs
    session: SessionCaller | None = None  # a browser's session caller (blocking); none: not a browser
    log: MutableMapping[str, Any] | None = None  # this request's log line fields, if the server writes one


async def answer(call: Call) -> Answer:
    try:
        entry = route(call.name, call.method)
        deadline = deadline_in()  # for the blocking work: credentials, the handler, pushes
        caller = await admitted(entry, call, deadline)
        authorize(entry, caller)
        if call.method == "GET":
            message = decode_query(entry, call.query)
        else:
            check_json(call.headers.get("content-type"), call.headers.get("content-length"), call.query)
            message = decode_body(entry, await call.body())
        context = Context(caller, "http", client=call.client)
        reply = await invoke(entry, message, context, run=call.run, deadline=deadline)
        if context.pushes:
            await push(caller, context.pushes, deadline)
        return reply_answer(reply)
    except Exception as exc:  # noqa: BLE001 - every failure is a typed answer, never the server's 500
        return error_answer(as_message_error(exc, call.name[:64]))


async def admitted(entry: Entry, call: Call, deadline: float) -> Caller:
    """The caller, counted against the rate limits: at most one hop to a thread, within the deadline."""
    app_token, authorization = call.headers.get("x-session-token"), call.headers.get("authorization")
    owner_token = app_token is not None and CallerKind.OWNER in entry.callers
    has_credentials = owner_token or (authorization is not None and CallerKind.DEVICE in entry.callers)
    session = call.session if app_token is None and authorization is None else None
    counted = has_credentials or call.session is not None  # a browser is always counted
    if not counted and entry.pure:
        return ANONYMOUS  # nothing to count, nothing to check: no thread
    check = functools.partial(admit, entry, call.client, counted, session)
    caller: Caller = await bounded(call.run(check, app_token=app_token, authorization=authorization), deadline)
    if call.log is not None and caller is not ANONYMOUS:  # name the caller in this request's log line
        call.log.update(log_fields(caller))
    return caller


def admit(
    entry: Entry,
    client: str,
    counted: bool,
    session: SessionCaller | None,
    *,
    app_token: str | None,
    authorization: str | None,
) -> Caller:
    """Blocking: count by address, prove the caller (cache, database), count by owner."""
    rate_limit(limited_keys(entry, None, client, counted))
    if session is not None:
        caller = session(entry)
    else:
        caller = caller_from_credentials(app_token=app_token, authorization=authorization, accepts=entry.callers)
    rate_limit(limited_keys(entry, caller, client, counted))
    return caller


async def push(caller: Caller, pushes: list[Message], deadline: float) -> None:
    """Pushes to the caller's sockets: at most once, like the channel layer. The call is done
    either way, so a layer that is down or slow costs the push, not the answer."""
    for message in pushes:
        try:
            await bounded(push_to_caller(caller, message), deadline)
        except DEPENDENCY_ERRORS as exc:
            logger.warning("push to %s not sent: %s: %s", caller.group, type(exc).__name__, exc)
            return


# -- the lean ASGI door -------------------------------------------------------------------
class MessagePath:
    """Answers /api/messages/ itself; passes everything else, and browsers, to `django`."""

    def __init__(self, django: ASGIApp) -> None:
        self.django = django
        self.session_cookie = settings.SESSION_COOKIE_NAME + "="

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(PREFIX):
            return await self.django(scope, receive, send)
        headers = {k.decode(): v.decode("latin-1") for k, v in scope["headers"] if k in WANTED_RAW}
        has_token = "x-session-token" in headers or "authorization" in headers
        if "origin" in headers or (not has_token and self.session_cookie in headers.get("cookie", "")):
            # A browser: Django's middleware answers CORS (and preflights), checks the session and CSRF.
            return await self.django(scope, receive, send)
        call = Call(
            name=scope["path"][len(PREFIX) :],
            method=scope["method"],
            query=scope["query_string"],
            headers=headers,
            client=(scope.get("client") or ("unknown",))[0],
            body=functools.partial(read_body, receive),
            log=scope.get("catfeeder.log"),
        )
        result = await answer(call)
        await send({"type": "http.response.start", "status": result.status, "headers": result.asgi_headers()})
        await send({"type": "http.response.body", "body": result.body})
        return None


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
def session_caller(request: HttpRequest, entry: Entry) -> Caller:
    """The owner of the browser session (blocking: it reads the session), CSRF checked for a POST."""
    user = request.user
    if CallerKind.OWNER in entry.callers and isinstance(user, AbstractBaseUser) and user.is_active:
        if request.method == "POST" and check_csrf(request) is not None:
            raise MessageError("forbidden", "CSRF check failed: send the X-CSRFToken header.", status=403)
        return Caller(CallerKind.OWNER, id=user.pk)
    return ANONYMOUS


def request_body(request: HttpRequest) -> bytes:
    try:
        body = request.body
    except RequestDataTooBig:
        raise too_big() from None
    if len(body) > settings.MESSAGE_MAX_BYTES:  # a chunked body has no Content-Length to check first
        raise too_big()
    return body


@csrf_exempt  # CSRF matters only for session callers, and session_caller checks it for them
async def message_view(request: HttpRequest, name: str) -> HttpResponse:
    call = Call(
        name=name,
        method=request.method or "GET",
        query=request.META.get("QUERY_STRING", ""),
        headers={k.lower(): v for k, v in request.headers.items() if k.lower() in WANTED_HEADERS},
        client=str(request.META.get("REMOTE_ADDR", "unknown")),
        body=functools.partial(in_request_thread, request_body, request),
        run=in_request_thread,
        session=functools.partial(session_caller, request),
    )
    return (await answer(call)).django()
