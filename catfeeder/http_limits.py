"""Two limits uvicorn lacks, for the web process (apps.ops.webserver wires them in).

- A deadline for request headers. uvicorn has none, so a client trickling
  header bytes (slowloris) or sending nothing holds a connection for ever.
  `HeaderDeadlineProtocol` is uvicorn's httptools protocol with one (use
  `--http catfeeder.http_limits:HeaderDeadlineProtocol`): the headers of each
  request must be complete within HTTP_HEADER_TIMEOUT seconds of the
  connection (or of the request's first byte on a kept-alive connection), or
  the client gets 408 and the connection is closed.
- A cap on HTTP requests in flight per process. uvicorn's own
  --limit-concurrency answers a bare text 503; `ConcurrencyLimit` answers
  503 problem+json with Retry-After at once, instead of queueing without bound.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

# Security headers for the answers given below Django (its middleware never sees them).
BARE_HEADERS = [
    (b"content-type", b"application/problem+json"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'"),
]


def problem_body(status: int, title: str, detail: str) -> bytes:
    return json.dumps({"type": "about:blank", "title": title, "status": status, "detail": detail}).encode()


class HeaderDeadlineProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from django.conf import settings  # uvicorn builds protocols once the app (and Django) is loaded

        self.header_timeout: float = settings.HTTP_HEADER_TIMEOUT
        self.server_name = f"catfeeder/{settings.CATFEEDER_VERSION}".encode()
        self.header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.arm()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self.header_timer is None:  # a further request on a kept-alive connection
            self.arm()

    def on_headers_complete(self) -> None:
        self.disarm()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self.disarm()
        super().connection_lost(exc)

    def arm(self) -> None:
        self.header_timer = self.loop.call_later(self.header_timeout, self.headers_too_slow)

    def disarm(self) -> None:
        if self.header_timer is not None:
            self.header_timer.cancel()
            self.header_timer = None

    def headers_too_slow(self) -> None:
        self.header_timer = None
        if self.transport.is_closing():
            return
        body = problem_body(408, "Request Timeout", f"The request headers took over {self.header_timeout:g}s.")
        head = [b"HTTP/1.1 408 Request Timeout", b"server: " + self.server_name, b"connection: close"]
        head += [name + b": " + value for name, value in BARE_HEADERS]
        head.append(b"content-length: " + str(len(body)).encode())
        self.transport.write(b"\r\n".join(head) + b"\r\n\r\n" + body)
        self.transport.close()


class ConcurrencyLimit:
    """At most `limit` HTTP requests in flight in this process; the next get 503 + Retry-After."""

    def __init__(self, app: Any, *, limit: int, retry_after: int = 1, server_name: str = "catfeeder") -> None:
        self.app = app
        self.limit = limit
        self.retry_after = retry_after
        self.server_name = server_name.encode()
        self.in_flight = 0  # one event loop per process: no lock needed

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.limit:
            await self.refuse(send)
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1

    async def refuse(self, send: Any) -> None:
        body = problem_body(503, "Service Unavailable", "The server is busy; try again in a moment.")
        headers = [*BARE_HEADERS, (b"retry-after", str(self.retry_after).encode()), (b"server", self.server_name)]
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": 503, "headers": headers})
        await send({"type": "http.response.body", "body": body})
