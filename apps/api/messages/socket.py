"""Typed messages over WebSocket: the frame loop every message socket shares.

A frame is `{"type": "<Name>", "id": <client id>, ...fields}`; the reply
carries the same `id`, pushes carry none. Every failure is an `Error` frame
and the connection stays usable, except where RFC 6455 or a limit says close:

- not JSON, not an object, no or unknown `type`: `Error{invalid_json | invalid_message | unknown_type}`;
- bad fields, a handler failure, a domain refusal: `Error{validation | internal | <kind>}`;
- the database or Redis down, or no answer within MESSAGE_TIMEOUT: `Error{dependency_unavailable}` with `retry_after`;
- a binary frame: `Error{unsupported_frame}`;
- a text frame that is not UTF-8: close 1007, by the protocol layer (RFC 6455 section 8.1);
- a frame over MESSAGE_MAX_BYTES (64 KiB): close 1009;
- over WS_MESSAGES_PER_SECOND (burst WS_MESSAGE_BURST): `Error{rate_limited}`, then close 1008;
- no credentials within WS_AUTH_TIMEOUT: close 4401; a refused one: `Error{unauthenticated}`, close 4401;
- a dependency down or hung at the handshake: close 1013 within RESPONSE_DEADLINE.

The consumer holds no rules: it parses a frame once into a typed message and
hands it to the registry. It replaces channels' AsyncConsumer loop, which
spends a thread hop (`aclose_old_connections`) and a new task on every frame:
sync handlers reach the database through the message pool, which checks
connections itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import weakref
from collections.abc import AsyncIterator
from typing import Any, ClassVar

from channels.consumer import AsyncConsumer
from django.conf import settings

from apps.api.messages.core import ANONYMOUS, Caller, CallerKind, Context, MessageError, Route
from apps.api.messages.dispatch import (
    DEPENDENCY_ERRORS,
    Runner,
    bounded,
    deadline_in,
    decode_frame,
    encode,
    error_message,
    invoke,
    run_sync,
    unavailable,
)
from apps.api.messages.hub import hub, leave_all
from apps.api.messages.publish import PUSH
from apps.api.problems import UNAVAILABLE

logger = logging.getLogger("apps.api.messages")

CLOSE_POLICY = 1008  # rate limit
CLOSE_TRY_AGAIN = 1013  # a dependency is down or slow: try again later
CLOSE_TOO_BIG = 1009
CLOSE_UNAUTHENTICATED = 4401  # no, wrong, expired or revoked credentials: authenticate (or pair) again
CLOSE_SILENT = 4408  # nothing heard within the heartbeat timeout
ADMISSION_WAIT = 60.0  # seconds a sign-in may queue behind others before it is refused (1013)
# Sign-ins in flight per process. The event loop is one core, and too many at once made each slower
# until some ran past their deadline (8 held that off when each wrote on its own). Now a sign-in
# mostly waits (for a thread, Redis, its write batch), and enough of them must be in flight for a
# batch to gather: 32 signed 2,000 feeders in 14.2 s where 8 took 16.4 s (one pair of runs).
ADMISSION_SLOTS = 32


class ClientFaultFilter(logging.Filter):
    """uvicorn logs a client's invalid UTF-8 with a traceback at ERROR: one line per bad
    frame any client may send. It is the client's fault and already answered (1007): a warning."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.getMessage().startswith("Invalid UTF-8 sequence received from client"):
            record.levelno, record.levelname, record.exc_info, record.exc_text = logging.WARNING, "WARNING", None, None
        return True


def quiet_client_faults() -> None:
    logging.getLogger("uvicorn.error").addFilter(ClientFaultFilter())


class Refused(Exception):  # noqa: N818 - the handshake is refused
    pass


class RateLimit:
    """A token bucket: `rate` frames a second on average, `burst` at once."""

    __slots__ = ("at", "burst", "rate", "tokens")  # one per socket: no __dict__

    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst = rate, burst
        self.tokens, self.at = burst, time.monotonic()

    def allow(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


class Admission:
    """Sign-ins let in at once, per event loop: ADMISSION_SLOTS of them.

    A sign-in makes three database calls and two channel-layer round trips. Ten
    thousand of them at once each took a thread's turn and a Redis connection,
    ran past their deadline together and closed 1013; the layer's pool ran out
    of connections. Queued, they go through at the rate the database allows.
    A sign-in that waits longer than ADMISSION_WAIT is refused as unavailable.
    """

    def __init__(self, slots: int) -> None:
        self.slots = asyncio.Semaphore(slots)

    @contextlib.asynccontextmanager
    async def __call__(self) -> AsyncIterator[None]:
        async with asyncio.timeout(ADMISSION_WAIT):
            await self.slots.acquire()
        try:
            yield
        finally:
            self.slots.release()


_admissions: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Admission] = weakref.WeakKeyDictionary()


def admitted() -> contextlib.AbstractAsyncContextManager[None]:
    """A sign-in slot of the running loop, waited for (TimeoutError past ADMISSION_WAIT)."""
    loop = asyncio.get_running_loop()
    admission = _admissions.get(loop)
    if admission is None:
        admission = _admissions[loop] = Admission(ADMISSION_SLOTS)
    return admission()


class MessageSocket(AsyncConsumer):
    route: ClassVar[Route]
    # Where the route's sync handlers run: run_plain for a route whose handlers call no async code.
    runner: ClassVar[Runner] = staticmethod(run_sync)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.scope, self.base_send = scope, send
        self.caller: Caller = ANONYMOUS
        self.groups: list[str] = []
        self.tasks: list[asyncio.Task[None]] = []
        self.closed = False  # we sent the close frame
        self.gone: asyncio.Future[None] = asyncio.get_running_loop().create_future()  # done: the connection ended
        self.limit = RateLimit(settings.WS_MESSAGES_PER_SECOND, settings.WS_MESSAGE_BURST)
        self.last_frame_at = time.monotonic()
        self.listening = False  # the layer's events are handled (before, they wait in the mailbox)
        self.mailbox: list[dict[str, Any]] = []
        self.reader: asyncio.Task[None] | None = None  # handles the mailbox's events, one at a time
        self.greeting = False  # the next frame ends a sign-in made at the handshake
        self.in_slot = False  # holds a sign-in slot now
        try:
            while True:
                event = await receive()
                kind = event["type"]
                if kind == "websocket.receive":
                    await self.on_frame(event.get("text"), event.get("bytes"))
                elif kind == "websocket.connect":
                    await self.on_connect()
                elif kind == "websocket.disconnect":
                    break
        finally:
            self.gone.set_result(None)
            for task in [*self.tasks, self.reader]:
                if task is not None:
                    task.cancel()
            await self.on_close()

    # -- connection life ---------------------------------------------------------------
    async def handshake(self) -> Caller:
        """The caller the handshake proves, ANONYMOUS if none; raise Refused to deny it (HTTP 403)."""
        return ANONYMOUS

    async def on_connect(self) -> None:
        accepted = False
        try:
            # A storm of handshakes (every feeder back after a restart) queues here rather
            # than time out together on the database and the channel layer; the deadline
            # starts once a handshake is let in.
            async with admitted():
                # Credentials are looked up in the database and Redis, the group joined in Redis:
                # a dependency down or hung closes with 1013 within the deadline, never a 500.
                async with asyncio.timeout(settings.RESPONSE_DEADLINE):
                    caller = await self.handshake()
                    # Joined before the client sees the socket open: an event caused by what it
                    # does next (a page that opened its socket, then fed) waits in its channel.
                    await self.join(caller)
                    await self.base_send({"type": "websocket.accept"})
                    accepted = True
                    if caller.kind is CallerKind.ANONYMOUS:
                        self.start(self.authentication_deadline())
                    else:
                        await self.become(caller)
                        self.greeting = True
        except Refused:
            await self.base_send({"type": "websocket.close"})
            self.closed = True
        except (TimeoutError, *UNAVAILABLE) as exc:
            logger.warning("%s socket: dependency unavailable at the handshake (%r); closing 1013", self.route, exc)
            self.caller = ANONYMOUS  # not signed in: nothing to sign out of
            if not accepted:
                await self.base_send({"type": "websocket.accept"})  # a close code needs an open socket
            await self.close(CLOSE_TRY_AGAIN)

    async def become(self, caller: Caller) -> None:
        """Act as `caller` from now on: join its group and start listening to it."""
        self.caller = caller
        await self.join(caller)
        self.start_listening()
        await self.signed_in()

    async def join(self, caller: Caller) -> None:
        """Join `caller`'s group. Its events wait in the socket's mailbox until start_listening()."""
        if caller.group is not None and caller.group not in self.groups:
            await hub().join(caller.group, self)
            self.groups.append(caller.group)

    def start_listening(self) -> None:
        if not self.listening:
            self.listening = True
            self.read_mailbox()

    def deliver(self, event: dict[str, Any]) -> None:
        """An event of a group the socket joined (from the hub): handled in order, in a task of the socket's."""
        self.mailbox.append(event)
        self.read_mailbox()

    def read_mailbox(self) -> None:
        if self.listening and self.reader is None and self.mailbox and not self.gone.done():
            self.reader = asyncio.ensure_future(self.read())

    async def read(self) -> None:
        try:
            while self.mailbox:
                event = self.mailbox.pop(0)
                try:
                    await self.on_event(event)
                except Exception:
                    logger.exception("socket event %s failed", event.get("type"))
        finally:
            self.reader = None

    async def signed_in(self) -> None:
        """Hook: the connection now acts for `self.caller`."""

    def held(self) -> object | None:
        """Hook: what the connection read for its caller at sign-in, for handlers (Context.held)."""
        return None

    async def signed_out(self) -> None:
        """Hook: the connection is gone (it had signed in)."""

    async def on_close(self) -> None:
        with contextlib.suppress(Exception):  # the layer may be down; the subscriptions go with the process
            await leave_all(self.groups, self)
        if self.caller.kind is not CallerKind.ANONYMOUS:
            await self.signed_out()

    async def authentication_deadline(self) -> None:
        await asyncio.sleep(settings.WS_AUTH_TIMEOUT)
        if self.caller.kind is CallerKind.ANONYMOUS:
            await self.close(CLOSE_UNAUTHENTICATED)

    def start(self, coroutine: Any) -> None:
        self.tasks.append(asyncio.ensure_future(coroutine))

    async def close(self, code: int) -> None:
        if not self.closed:
            self.closed = True
            await self.base_send({"type": "websocket.close", "code": code})

    # -- frames from the client ----------------------------------------------------------
    async def on_frame(self, text: str | None, data: bytes | None) -> None:
        if self.closed:
            return  # frames already in flight when we closed
        self.last_frame_at = time.monotonic()
        if not self.limit.allow():
            rate = settings.WS_MESSAGES_PER_SECOND
            await self.send_error(MessageError("rate_limited", f"Over {rate} messages a second.", close=CLOSE_POLICY))
            return
        if text is None:
            await self.send_error(MessageError("unsupported_frame", "Send JSON text frames, not binary ones."))
            return
        if len(text) > settings.MESSAGE_MAX_BYTES // 4 and len(text.encode()) > settings.MESSAGE_MAX_BYTES:
            await self.close(CLOSE_TOO_BIG)  # uvicorn closes before we see it (--ws-max-size); Daphne does not
            return
        if self.greeting:
            await self.answer_admitted(text)
        else:
            await self.answer(text)

    async def answer_admitted(self, text: str) -> None:
        """The first frame after a sign-in at the handshake (a feeder's Hello, which records it) is
        the end of that sign-in: in a storm it takes a slot too, or it waits past its deadline."""
        self.greeting = False
        try:
            async with admitted():
                self.in_slot = True
                try:
                    await self.answer(text)
                finally:
                    self.in_slot = False
        except TimeoutError as exc:  # no slot within ADMISSION_WAIT
            await self.send_error(unavailable(exc, f"message on {self.route}"))

    async def answer(self, text: str) -> None:
        frame = None
        try:
            frame = decode_frame(text, route=self.route, caller=self.caller)
            client = (self.scope.get("client") or ("unknown",))[0]
            context = Context(self.caller, self.route, client=client, held=self.held())
            reply = await invoke(frame.entry, frame.message, context, run=self.runner)
        except MessageError as error:
            await self.send_error(error, frame.request_id if frame else error.request_id)
            return
        # A sign-in joins the caller's group before its reply goes out: a client that acts on the
        # reply (an HTTP call that pushes to its sockets) finds this socket in the group.
        refused = None if context.signed_in is None else await self.join_for(context.signed_in)
        await self.send_text(encode(reply, frame.request_id))
        for push in context.pushes:
            await self.send_text(encode(push))
        if refused is not None:
            await self.send_error(refused, frame.request_id)
        elif context.signed_in is not None:
            await self.sign_in(context.signed_in, frame.request_id)

    async def join_for(self, caller: Caller) -> MessageError | None:
        """Join the group of `caller`, who is signing in; the error to send after the reply if it fails."""
        try:
            await bounded(self.join(caller), deadline_in())
        except DEPENDENCY_ERRORS as exc:
            return unavailable(exc, f"sign-in on {self.route}")
        return None

    async def sign_in(self, caller: Caller, request_id: str | int | None) -> None:
        """Become `caller` after an Authenticate or Pair; with the channel layer or the database
        down, the connection stays as it was and the same `id` gets Error{dependency_unavailable}."""
        before = self.caller
        try:
            async with contextlib.nullcontext() if self.in_slot else admitted():
                await bounded(self.become(caller), deadline_in())
        except DEPENDENCY_ERRORS as exc:
            self.caller = before
            await self.send_error(unavailable(exc, f"sign-in on {self.route}"), request_id)

    async def send_error(self, error: MessageError, request_id: str | int | None = None) -> None:
        await self.send_text(encode(error_message(error), request_id, exclude_none=True))
        if error.close is not None:
            await self.close(error.close)

    async def send_text(self, text: str) -> None:
        if not self.closed:
            await self.base_send({"type": "websocket.send", "text": text})

    # -- events from the channel layer -----------------------------------------------------
    async def on_event(self, event: dict[str, Any]) -> None:
        """Hook for the layer events of a route; pushes are forwarded as they are."""
        if event.get("type") == PUSH:
            await self.send_text(event["text"])
