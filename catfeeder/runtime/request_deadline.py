"""A deadline on the start of every HTTP answer of the public application.

Client timeouts bound most waits on a dependency (Redis and the broker:
socket timeouts; PostgreSQL: connect_timeout), but not a query on an open
PostgreSQL connection: a stopped (SIGSTOP) server's kernel still
acknowledges every packet, so no TCP timeout ever fires and the request
thread waits for as long as the server is stopped. Whatever the cause, a
request whose answer has not started RESPONSE_DEADLINE seconds after it
arrived gets 503 with Retry-After: problem+json on API routes, the styled
error page elsewhere, the correlation id in both. Time spent waiting for
the client's own body does not count (that is the body timeout's business).

The late answer, if one comes, is dropped; its thread is freed when the
dependency answers or fails, and the request counts as in flight until then
(its log line too comes then). Nothing is cancelled: a thread cannot be, and
the application may still be finishing a write the client will find later.

While the readiness checks find the database down, every request but the
probes and static files gets that 503 at once, before it takes a thread:
nearly every route reads the database, and with a hung PostgreSQL each would
hold a thread until it answers. Looking costs a memory read: requests use the
run the probes (/health/ready) or writes made, and only while it says down
have it refreshed, every second, so that recovery shows at once.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from apps.api.errors import API_PREFIXES, error_page
from apps.api.problems import (
    DATABASE_DOWN,
    SECURITY_HEADERS,
    UNAVAILABLE_KIND,
    UNAVAILABLE_RETRY_AFTER,
    problem_document,
)
from apps.ops.correlation import correlation_id_get, correlation_scope, new_correlation_id
from apps.ops.readiness import READY_MAX_AGE, readiness_get, readiness_last

logger = logging.getLogger(__name__)

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

# Django's middleware never sees these answers: the security headers it would add.
PAGE_HEADERS = [*SECURITY_HEADERS, (b"cache-control", b"no-store")]
PAGE_CSP = b"default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"  # the page's own <style>
PROBLEM_CSP = b"default-src 'none'; frame-ancestors 'none'"

ALWAYS_SERVED = ("/health", "/metrics", "/static/")  # need no database; the probes report the outage


SWEEP = 0.25  # seconds between looks at the answers not begun: how late past the deadline a 503 may be


@dataclass(eq=False)
class _Pending:
    """One request whose answer has not begun."""

    scope: Scope
    send: Send
    deadline: float  # loop time; moved on by the time spent waiting for the client's body
    correlation_id: str | None  # the sweep runs in no request's context: the 503 must carry this one's
    client_since: float | None = None  # the application waits for the client's body since then (loop time)
    body_done: bool = False  # the client's body has all arrived
    refusal: asyncio.Task[None] | None = None  # the 503 sent instead


class RequestDeadline:
    def __init__(self, app: App, *, seconds: float) -> None:
        self.app = app
        self.seconds = seconds
        self.server = f"catfeeder/{settings.CATFEEDER_VERSION}".encode()
        # One sweep for all requests, not a timer each: this runs on every request, and a
        # timer per request cost about a fifth of a typed message's time in the web process.
        self.pending: set[_Pending] = set()
        self.sweeper: asyncio.AbstractEventLoop | None = None  # the loop a sweep is booked on

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if not str(scope.get("path", "")).startswith(ALWAYS_SERVED) and database_known_down():
            await self.refuse(scope, send, DATABASE_DOWN)
            return
        if self.seconds <= 0:
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        pending = _Pending(scope, send, deadline=loop.time() + self.seconds, correlation_id=correlation_id_get())

        async def timed_receive() -> Message:
            if pending.body_done:
                return await receive()
            pending.client_since = since = loop.time()
            try:
                message = await receive()
            finally:
                pending.deadline += loop.time() - since
                pending.client_since = None
            if message["type"] != "http.request" or not message.get("more_body", False):
                pending.body_done = True
            return message

        async def guarded_send(message: Message) -> None:
            if pending.refusal is not None:
                return  # the client has had its 503
            if message["type"] == "http.response.start":
                self.pending.discard(pending)
            await send(message)

        self.pending.add(pending)
        if self.sweeper is not loop:  # none booked (or on a loop that is gone: tests run several)
            self.sweeper = loop
            loop.call_later(SWEEP, self.sweep, loop)
        try:
            await self.app(scope, timed_receive, guarded_send)
        except Exception:
            if pending.refusal is None:
                raise
            logger.warning("an answer past its deadline failed", exc_info=True)
        finally:
            self.pending.discard(pending)
            if pending.refusal is not None:
                await pending.refusal

    def sweep(self, loop: asyncio.AbstractEventLoop) -> None:
        """Answer 503 for every request past its deadline; look again while any are pending."""
        now = loop.time()
        for pending in [p for p in self.pending if p.deadline <= now and p.client_since is None]:
            self.pending.discard(pending)
            detail = f"No answer within {self.seconds:g}s: a service it needs is slow or unavailable."
            pending.refusal = loop.create_task(self.refuse(pending.scope, pending.send, detail, pending.correlation_id))
        if self.pending:
            loop.call_later(SWEEP, self.sweep, loop)
        else:
            self.sweeper = None

    async def refuse(self, scope: Scope, send: Send, detail: str, correlation_id: str | None = None) -> None:
        correlation_id = correlation_id or correlation_id_get() or new_correlation_id()
        path = str(scope.get("path", ""))
        if path.startswith(API_PREFIXES):
            body = json.dumps(
                problem_document(503, detail, kind=UNAVAILABLE_KIND, correlation_id=correlation_id)
            ).encode()
            headers = [(b"content-type", b"application/problem+json"), (b"content-security-policy", PROBLEM_CSP)]
        else:
            body = error_page(503, detail, correlation_id=correlation_id).encode()
            headers = [(b"content-type", b"text/html; charset=utf-8"), (b"content-security-policy", PAGE_CSP)]
        with correlation_scope(correlation_id):  # the sweep's task runs in another request's context
            logger.warning("%s %s: %s", scope.get("method", "GET"), path, detail)
        headers += [
            *PAGE_HEADERS,
            (b"retry-after", str(UNAVAILABLE_RETRY_AFTER).encode()),
            (b"server", self.server),
            (b"content-length", str(len(body)).encode()),
        ]
        await send({"type": "http.response.start", "status": 503, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def database_known_down() -> bool:
    """The last readiness run (made for the load balancer's probes, or for a write) found the database down.

    Requests never start a run themselves while it is up; while it is down
    they have it run again, in the background, every second.
    """
    if "database" not in readiness_last().critical_down:
        return False
    return "database" in readiness_get(max_age=READY_MAX_AGE).critical_down
