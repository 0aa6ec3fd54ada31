"""The typed message registry: messages, callers, contexts, handlers.

A message is a pydantic model registered under its class name; a handler is
`(message, context) -> reply message`, sync or async. The registry is the one
place both transports (HTTP, WebSocket) and both documents (OpenAPI,
AsyncAPI) read, so a message registered here is callable and documented
everywhere at once.
"""

from __future__ import annotations

import enum
import functools
import inspect
import types
import typing
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, TypeVar

from pydantic import BaseModel, ConfigDict

# Keys of the WebSocket envelope: a message may not have fields of these names.
ENVELOPE_KEYS = frozenset({"type", "id"})


class Message(BaseModel):
    """Base of every message. Immutable, no unknown fields, and no NaN or
    infinity anywhere: a float field refuses them on the way in and when a
    handler builds a reply, so no non-finite number is ever emitted."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class CallerKind(enum.StrEnum):
    ANONYMOUS = "anonymous"
    OWNER = "owner"
    DEVICE = "device"


ANYONE = frozenset(CallerKind)
OWNERS = frozenset({CallerKind.OWNER})
DEVICES = frozenset({CallerKind.DEVICE})


@dataclass(frozen=True)
class Caller:
    """Who is calling: an opaque principal, a kind and an id (an owner's user id, a device's id).

    The framework never loads what an id stands for; a handler that needs the
    row reads it through its own app's selectors. `credential_id` names the
    credential that proved the caller (a device token), so that a long-lived
    socket can check that it still holds.
    """

    kind: CallerKind
    id: int | None = None
    credential_id: int | None = None

    @property
    def group(self) -> str | None:
        """The channel-layer group that reaches this caller's open sockets."""
        if self.id is None or self.kind is CallerKind.ANONYMOUS:
            return None
        return owner_group(self.id) if self.kind is CallerKind.OWNER else device_group(self.id)


ANONYMOUS = Caller(CallerKind.ANONYMOUS)


def owner_group(user_id: int) -> str:
    return f"owner-{user_id}"


def device_group(device_id: int) -> str:
    return f"device-{device_id}"


Route = Literal["http", "device", "app"]


@dataclass
class Context:
    """What a handler knows about its call, and what it may ask of the transport.

    `push` sends a further message to the caller after the reply (on a socket,
    down the same connection; over HTTP, to the caller's open sockets).
    `sign_in` makes a socket connection act as another caller from now on
    (Authenticate, Pair); HTTP ignores it: every request authenticates itself.
    `held` is what the transport read for the caller when it signed in (a device
    socket: its feeder row), opaque here; a handler may use it instead of reading
    the row again, where a row as old as the connection will do.
    """

    caller: Caller
    route: Route
    client: str = "unknown"  # the address the call came from, as the transport's rate limits count it
    held: object | None = None
    pushes: list[Message] = field(default_factory=list)
    signed_in: Caller | None = None

    def push(self, message: Message) -> None:
        self.pushes.append(message)

    def sign_in(self, caller: Caller) -> None:
        self.signed_in = caller


class MessageError(Exception):
    """A typed failure: becomes `Error{code, message}` on a socket and a
    problem+json with `status` over HTTP. `close` asks a socket to close
    with that code after the Error is sent; `retry_after` (seconds) tells
    the caller when to try again (Retry-After over HTTP)."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        status: int = 422,
        errors: list[dict[str, Any]] | None = None,
        close: int | None = None,
        correlation_id: str | None = None,
        headers: dict[str, str] | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.errors = errors
        self.close = close
        self.correlation_id = correlation_id
        self.headers = headers or {}  # HTTP only: Allow, WWW-Authenticate
        self.retry_after = retry_after
        self.request_id: str | int | None = None  # a socket frame's id, once known


M = TypeVar("M", bound=Message)
Handler = Callable[[Any, Context], "Message | Awaitable[Message]"]


@dataclass(frozen=True)
class Entry:
    name: str
    model: type[Message]
    handler: Handler
    replies: tuple[type[Message], ...]
    callers: frozenset[CallerKind]
    safe: bool  # reads only: may be called with GET
    pure: bool  # no I/O at all: runs inline on the event loop
    routes: frozenset[Route]
    is_async: bool
    summary: str
    documented: bool

    @functools.cached_property  # asked on every GET; the model never changes
    def queryable(self) -> bool:
        """GET carries fields in the query string: scalars only, and never a write."""
        return self.safe and all(_is_scalar(f.annotation) for f in self.model.model_fields.values())


@dataclass(frozen=True)
class PushEntry:
    """A message only the server sends (FeedNow, FeederStatus, ...), for the documents."""

    model: type[Message]
    routes: frozenset[Route]
    summary: str


SCALARS = (str, int, float, bool, type(None))


def _is_scalar(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _is_scalar(typing.get_args(annotation)[0])
    if origin is Literal:
        return True
    if origin in (typing.Union, types.UnionType):
        return all(_is_scalar(arg) for arg in typing.get_args(annotation))
    return annotation in SCALARS


class Registry:
    SOCKET_ROUTES: ClassVar[frozenset[Route]] = frozenset({"device", "app"})

    def __init__(self) -> None:
        self.entries: dict[str, Entry] = {}
        self.pushes: dict[str, PushEntry] = {}

    def handler(
        self,
        message: type[M],
        *,
        replies: type[Message] | Iterable[type[Message]],
        callers: frozenset[CallerKind],
        safe: bool = False,
        pure: bool = False,
        routes: Iterable[Route] = ("http", "device", "app"),
        documented: bool = True,
    ) -> Callable[[Callable[[M, Context], Any]], Callable[[M, Context], Any]]:
        """Register `message` and the decorated function as its handler.

        A sync handler runs in the message thread pool (it may use the
        database) unless `pure=True`, for arithmetic that touches nothing.
        `safe=True` marks a read-only message that HTTP also accepts by GET.
        `documented=False` keeps a diagnostic message out of the OpenAPI and AsyncAPI documents.
        """
        reply_types = (replies,) if isinstance(replies, type) else tuple(replies)

        def register(function: Callable[[M, Context], Any]) -> Callable[[M, Context], Any]:
            self._check_new(message)
            is_async = inspect.iscoroutinefunction(function)
            if pure and is_async:
                raise TypeError(f"{message.__name__}: an async handler is already inline; drop pure=True")
            self.entries[message.__name__] = Entry(
                name=message.__name__, model=message, handler=function, replies=reply_types,
                callers=callers, safe=safe, pure=pure, routes=frozenset(routes), is_async=is_async,
                summary=_summary(message), documented=documented,
            )  # fmt: skip
            for reply in reply_types:
                self._check_fields(reply)
            return function

        return register

    def push(self, message: type[Message], *, routes: Iterable[Route]) -> type[Message]:
        """Declare a message the server sends on its own (no `id`)."""
        self._check_fields(message)
        self.pushes[message.__name__] = PushEntry(message, frozenset(routes), _summary(message))
        return message

    def get(self, name: str, route: Route) -> Entry | None:
        entry = self.entries.get(name)
        return entry if entry is not None and route in entry.routes else None

    def _check_new(self, message: type[Message]) -> None:
        if message.__name__ in self.entries:
            raise ValueError(f"message {message.__name__} is already registered")
        self._check_fields(message)

    @staticmethod
    def _check_fields(message: type[Message]) -> None:
        if not issubclass(message, Message):
            raise TypeError(f"{message.__name__} must subclass apps.api.messages.Message")
        clash = ENVELOPE_KEYS & set(message.model_fields)
        if clash:
            raise TypeError(f"{message.__name__} may not have fields named {', '.join(sorted(clash))}")


def _summary(message: type[Message]) -> str:
    doc = inspect.cleandoc(message.__dict__.get("__doc__") or message.__name__)  # its own, not inherited
    return doc.split("\n\n")[0].replace("\n", " ")


registry = Registry()
