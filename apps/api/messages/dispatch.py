"""What both transports share: decode a request, check the caller, call the
handler, encode the reply or the typed error.

Every failure becomes a `MessageError`; nothing a handler raises reaches a
transport as anything else, so one bad call never takes a connection or the
server down, and nothing but a correlation id leaks from an unexpected error.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import parse_qsl

import pydantic_core
from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import close_old_connections
from django.http import Http404
from pydantic import ValidationError
from pydantic_core import to_json

from apps.api.messages.core import Caller, CallerKind, Context, Entry, Message, MessageError, Route, registry
from apps.api.problems import UNAVAILABLE, UNAVAILABLE_RETRY_AFTER, Problem

logger = logging.getLogger("apps.api.messages")

MAX_QUERY_FIELDS = 50
T = TypeVar("T")


class FieldError(Message):
    loc: list[str | int]
    msg: str
    type: str


class Error(Message):
    """Any failure, answered with the request's `id`: `code` for programs, `message` for people."""

    code: str
    message: str
    errors: list[FieldError] | None = None
    correlation_id: str | None = None
    retry_after: int | None = None  # seconds: try again after this (a dependency outage)


# -- decoding -----------------------------------------------------------------------
def _field_errors(exc: ValidationError, where: str | None) -> list[dict[str, Any]]:
    # Never echo the input: it may be large, or a secret sent in the wrong field.
    prefix = [where] if where else []
    return [{"loc": [*prefix, *e["loc"]], "msg": e["msg"], "type": e["type"]} for e in exc.errors()]


def invalid_fields(exc: ValidationError, where: str | None) -> MessageError:
    return MessageError("validation", "The message has invalid fields.", errors=_field_errors(exc, where))


def decode_fields(entry: Entry, fields: dict[str, Any], *, where: str | None = None) -> Message:
    """JSON values, strictly: "12" is not 12 and 0 is not false."""
    try:
        return entry.model.model_validate(fields, strict=True)
    except ValidationError as exc:
        raise invalid_fields(exc, where) from None


def decode_json_object(data: bytes | str, *, what: str) -> dict[str, Any]:
    try:
        value = pydantic_core.from_json(data, allow_inf_nan=False)  # strict JSON, bounded nesting
    except ValueError as exc:
        raise MessageError("invalid_json", f"The {what} is not valid JSON ({exc}).", status=400) from None
    if not isinstance(value, dict):
        raise MessageError("invalid_message", f"The {what} must be a JSON object.", status=400)
    return value


def decode_body(entry: Entry, body: bytes) -> Message:
    return decode_fields(entry, decode_json_object(body, what="body"), where="body")


def split_query(text: str) -> list[tuple[str, str]]:
    """parse_qsl(text, keep_blank_values=True, errors="strict", max_num_fields=MAX_QUERY_FIELDS).

    Most queries have nothing to unquote (`x=1.5&y=2.25`): those are split
    here, the same way, at a fraction of parse_qsl's cost.
    """
    if "%" in text or "+" in text:
        return parse_qsl(text, keep_blank_values=True, errors="strict", max_num_fields=MAX_QUERY_FIELDS)
    if text.count("&") >= MAX_QUERY_FIELDS:
        raise ValueError("Max number of fields exceeded")
    return [(key, value) for key, _, value in (part.partition("=") for part in text.split("&") if part)]


def decode_query(entry: Entry, query: bytes | str) -> Message:
    """Query strings are text: each value is read as its field's type, once."""
    text = query.decode("latin-1") if isinstance(query, bytes) else query
    try:
        pairs = split_query(text)
    except (ValueError, UnicodeDecodeError):
        raise MessageError("invalid_message", "The query string is malformed.", status=400) from None
    fields: dict[str, str] = {}
    for key, value in pairs:
        if key in fields:
            errors = [{"loc": ["query", key], "msg": "given more than once", "type": "duplicate"}]
            raise MessageError("validation", "The message has invalid fields.", errors=errors)
        fields[key] = value
    try:
        return entry.model.model_validate_strings(fields)
    except ValidationError as exc:
        raise invalid_fields(exc, "query") from None


MAX_ID_LENGTH = 128


@dataclass(frozen=True)
class Frame:
    request_id: str | int | None
    entry: Entry
    message: Message


def _request_id(fields: dict[str, Any]) -> str | int | None:
    value = fields.pop("id", None)
    if value is None or (isinstance(value, int) and not isinstance(value, bool) and abs(value) < 2**53):
        return value
    if isinstance(value, str) and len(value) <= MAX_ID_LENGTH:
        return value
    raise MessageError("invalid_message", f"`id` must be a string of at most {MAX_ID_LENGTH} characters or an integer.")


def _frame_entry(name: Any, route: Route) -> Entry:
    if not isinstance(name, str):
        raise MessageError("invalid_message", 'A frame needs a "type": the name of a message.')
    entry = registry.get(name, route)
    if entry is None:
        raise MessageError("unknown_type", f"No message named {name[:64]!r} on this socket.")
    return entry


def decode_frame(text: str | bytes, *, route: Route, caller: Caller) -> Frame:
    """A socket frame, parsed once, as the typed message it names, from a caller who may send it.

    Anything else raises MessageError, with the frame's `id` in `request_id` when it had a usable one.
    """
    request_id = None
    try:
        fields = decode_json_object(text, what="frame")
        request_id = _request_id(fields)
        entry = _frame_entry(fields.pop("type", None), route)
        authorize(entry, caller)
        return Frame(request_id, entry, decode_fields(entry, fields))
    except MessageError as error:
        error.request_id = request_id
        raise


# -- calling --------------------------------------------------------------------------
def authorize(entry: Entry, caller: Caller) -> None:
    if caller.kind in entry.callers:
        return
    if caller.kind is CallerKind.ANONYMOUS:
        scheme = "X-Session-Token" if CallerKind.OWNER in entry.callers else "Bearer"
        detail = f"{entry.name} needs credentials: authenticate first."
        raise MessageError("unauthenticated", detail, status=401, headers={"WWW-Authenticate": scheme})
    raise MessageError("forbidden", f"{entry.name} is not a message for a {caller.kind}.", status=403)


@functools.cache
def executor() -> ThreadPoolExecutor:
    """Threads for sync handlers: the database is blocking, the event loop is not (one pool per process)."""
    return ThreadPoolExecutor(max_workers=settings.MESSAGE_THREADS, thread_name_prefix="message")


@functools.cache
def _in_pool() -> Callable[..., Any]:
    # One wrapper for every call: building a SyncToAsync costs as much as the hop itself.
    return sync_to_async(_with_fresh_connections, thread_sensitive=False, executor=executor())


def _with_fresh_connections(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    # As channels' database_sync_to_async: drop connections past their age or broken.
    close_old_connections()
    try:
        return function(*args, **kwargs)
    finally:
        close_old_connections()


async def run_sync(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a blocking function in the message pool (async_to_sync inside it reaches this loop).

    The call runs in a task of its own: after each call, asgiref sets every context
    variable of the thread back into the caller's context, each asgiref Local's
    storage as a new object. Done in a long-lived socket's own context, that kept
    about 20 KB of copies per idle socket; in a task of its own they go with the task.
    """
    result: T = await asyncio.ensure_future(_in_pool()(function, *args, **kwargs))
    return result


async def run_plain(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """run_sync without asgiref's round trip of the context: for blocking functions that call no
    async code (no async_to_sync) and set no context variable their caller reads afterwards.

    The function sees the caller's context variables (a copy). What sync_to_async adds is the
    way back: after each call it copies every asgiref Local of the thread into the caller's
    context, and in a storm of sign-ins that cost about a quarter of the web process's time.
    """
    call = functools.partial(contextvars.copy_context().run, _with_fresh_connections, function, *args, **kwargs)
    result: T = await asyncio.get_running_loop().run_in_executor(executor(), call)
    return result


async def in_request_thread(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a blocking function in the thread of the Django request being answered (its connection)."""
    result: T = await sync_to_async(function, thread_sensitive=True)(*args, **kwargs)
    return result


# Where a call's blocking work runs: `run_sync` or `in_request_thread`.
Runner = Callable[..., Awaitable[Any]]


def deadline_in() -> float:
    """The event-loop time by which a call's blocking work must be done: MESSAGE_TIMEOUT from now."""
    timeout: float = settings.MESSAGE_TIMEOUT
    return asyncio.get_running_loop().time() + timeout


async def bounded(awaitable: Awaitable[T], deadline: float) -> T:
    """Await `awaitable` until `deadline`, then raise TimeoutError.

    A hung PostgreSQL or Redis (SIGSTOP) answers nothing and never closes: without
    a bound the caller waits as long as it does. sync_to_async waits for its thread
    even when cancelled, so the work runs as a task of its own that the caller stops
    waiting for; its thread returns when the dependency does.
    """
    task = asyncio.ensure_future(awaitable)
    try:
        async with asyncio.timeout_at(deadline):
            return await asyncio.shield(task)
    finally:
        if not task.done():
            task.cancel()


# A dependency that is down, hung or refusing (the REST API's list), or MESSAGE_TIMEOUT passed:
# the call may succeed if tried again later.
DEPENDENCY_ERRORS: tuple[type[Exception], ...] = (*UNAVAILABLE, TimeoutError)


def unavailable(exc: BaseException, what: str) -> MessageError:
    correlation_id = uuid.uuid4().hex
    reason = str(exc) or f"no answer within {settings.MESSAGE_TIMEOUT:g} s"  # our bound's TimeoutError is bare
    logger.warning("message %s: a dependency failed (%s: %s) [%s]", what, type(exc).__name__, reason, correlation_id)
    detail = "A service this message needs is unavailable or too slow; try again shortly."
    return MessageError(
        "dependency_unavailable", detail, status=503, correlation_id=correlation_id, retry_after=UNAVAILABLE_RETRY_AFTER
    )


def as_message_error(exc: BaseException, what: str) -> MessageError:
    """Any failure of the call named `what` as a typed error: nothing else reaches a transport."""
    if isinstance(exc, MessageError):
        return exc
    if isinstance(exc, Problem):
        code = (exc.kind or "error").replace("-", "_")
        wait = exc.headers.get("Retry-After")  # a socket has no headers: its Error carries retry_after
        return MessageError(
            code, exc.detail, status=exc.status, errors=exc.errors, headers=exc.headers,
            retry_after=int(wait) if wait and wait.isdigit() else None,
        )  # fmt: skip
    if isinstance(exc, Http404):
        return MessageError("not_found", "Not found.", status=404)
    if isinstance(exc, PermissionDenied):
        return MessageError("forbidden", str(exc) or "You may not do this.", status=403)
    if isinstance(exc, DEPENDENCY_ERRORS):
        return unavailable(exc, what)
    correlation_id = uuid.uuid4().hex
    logger.error("message %s failed [%s]", what, correlation_id, exc_info=exc)
    detail = "Something went wrong on our side; quote the correlation id when you report it."
    return MessageError("internal", detail, status=500, correlation_id=correlation_id)


def _checked(entry: Entry, reply: Any) -> Message:
    if not isinstance(reply, entry.replies):
        raise TypeError(f"{entry.name} handler returned {type(reply).__name__}, not one of its declared replies")
    return reply


async def invoke(
    entry: Entry, message: Message, context: Context, *, run: Runner = run_sync, deadline: float | None = None
) -> Message:
    """Call the handler where it belongs: inline, awaited, or by `run`; anything but pure within the deadline."""
    try:
        if entry.pure:
            reply = entry.handler(message, context)
        else:
            deadline = deadline_in() if deadline is None else deadline
            call = entry.handler(message, context) if entry.is_async else run(entry.handler, message, context)
            reply = await bounded(call, deadline)  # type: ignore[arg-type]
        return _checked(entry, reply)
    except Exception as exc:  # noqa: BLE001 - every failure becomes a typed error
        raise as_message_error(exc, entry.name) from None


# -- encoding ---------------------------------------------------------------------------
def _splice(name: str, request_id: str | int | None, fields_json: str) -> str:
    """{"type": name, "id": id, ...fields} without building the dict twice."""
    # pydantic_core's encoder: json.dumps costs more than the rest of a small reply.
    head = f'{{"type":"{name}"' + ("" if request_id is None else f',"id":{to_json(request_id).decode()}')
    return head + "}" if fields_json == "{}" else f"{head},{fields_json[1:]}"


def encode(message: Message, request_id: str | int | None = None, *, exclude_none: bool = False) -> str:
    return _splice(type(message).__name__, request_id, message.model_dump_json(exclude_none=exclude_none))


def error_message(error: MessageError) -> Error:
    errors = [FieldError.model_validate(e) for e in error.errors] if error.errors else None
    return Error(
        code=error.code,
        message=error.message,
        errors=errors,
        correlation_id=error.correlation_id,
        retry_after=error.retry_after,
    )
