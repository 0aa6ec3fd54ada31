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

from apps.api.problems import DATABASE_DOWN, UNAVAILABLE_KIND, UNAVAILABLE_RETRY_AFTER, problem_document
from apps.ops.correlation import correlation_id_get, new_correlation_id
from apps.ops.readiness import READY_MAX_AGE, readiness_get, readiness_last
from catfeeder import http_limits
from catfeeder.errors import API_PREFIXES, error_page

logger = logging.getLogger(__name__)

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

# Django's middleware never sees these answers: the security headers it would add.
SECURITY_HEADERS = [*http_limits.SECURITY_HEADERS, (b"cache-control", b"no-store")]
PAGE_CSP = b"default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"  # the page's own <style>
PROBLEM_CSP = b"default-src 'none'; frame-ancestors 'none'"

ALWAYS_SERVED = ("/health", "/metrics", "/static/")  # need no database; the probes report the outage


@dataclass
class _Progress:
    timer: asyncio.TimerHandle | None = None
    started: bool = False  # the application began its answer
    finished: bool = False  # the application returned
    refusal: asyncio.Task[None] | None = None  # the 503 sent instead
    body_done: bool = False  # the client's body has all arrived
    client_since: float | None = None  # the application waits for the client's body since then (loop time)
    client_waited: float = 0.0  # seconds spent waiting for the client's body, finished waits only


class RequestDeadline:
    def __init__(self, app: App, *, seconds: float) -> None:
        self.app = app
        self.seconds = seconds
        self.server = f"catfeeder/{settings.CATFEEDER_VERSION}".encode()

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
        progress = _Progress()
        arrived = loop.time()

        async def timed_receive() -> Message:
            if progress.body_done:
                return await receive()
            progress.client_since = loop.time()
            try:
                message = await receive()
            finally:
                progress.client_waited += loop.time() - progress.client_since
                progress.client_since = None
            if message["type"] != "http.request" or not message.get("more_body", False):
                progress.body_done = True
            return message

        async def guarded_send(message: Message) -> None:
            if progress.refusal is not None:
                return  # the client has had its 503
            if message["type"] == "http.response.start":
                progress.started = True
            await send(message)

        def expire() -> None:
            if progress.started or progress.finished:
                return
            if progress.client_since is not None:  # the client is the slow one: look again later
                progress.timer = loop.call_later(self.seconds, expire)
                return
            left = self.seconds - (loop.time() - arrived - progress.client_waited)
            if left > 0:
                progress.timer = loop.call_later(left, expire)
                return
            detail = f"No answer within {self.seconds:g}s: a service it needs is slow or unavailable."
            progress.refusal = loop.create_task(self.refuse(scope, send, detail))

        # The application runs in this task, as without the deadline (a timer, not a task
        # of its own: this runs on every request); a refusal is sent from a task of its own.
        progress.timer = loop.call_later(self.seconds, expire)
        try:
            await self.app(scope, timed_receive, guarded_send)
        except Exception:
            if progress.refusal is None:
                raise
            logger.warning("an answer past its deadline failed", exc_info=True)
        finally:
            progress.finished = True
            if progress.timer is not None:
                progress.timer.cancel()
            if progress.refusal is not None:
                await progress.refusal

    async def refuse(self, scope: Scope, send: Send, detail: str) -> None:
        correlation_id = correlation_id_get() or new_correlation_id()
        path = str(scope.get("path", ""))
        if path.startswith(API_PREFIXES):
            body = json.dumps(
                problem_document(503, detail, kind=UNAVAILABLE_KIND, correlation_id=correlation_id)
            ).encode()
            headers = [(b"content-type", b"application/problem+json"), (b"content-security-policy", PROBLEM_CSP)]
        else:
            body = error_page(503, detail, correlation_id=correlation_id).encode()
            headers = [(b"content-type", b"text/html; charset=utf-8"), (b"content-security-policy", PAGE_CSP)]
        logger.warning("%s %s: %s", scope.get("method", "GET"), path, detail)
        headers += [
            *SECURITY_HEADERS,
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
