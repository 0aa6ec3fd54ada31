"""Limits on HTTP requests in plain ASGI, whatever the server (catfeeder.asgi wires them in).

- `RequestBody` reads each request's whole body in the event loop, under a
  deadline (HTTP_BODY_TIMEOUT, 408 after) and a cap (HTTP_MAX_BODY_BYTES, or
  HTTP_MAX_UPLOAD_BYTES for multipart; 413 over it), with Content-Length or
  chunked, before the application runs: no Django thread ever waits for a
  slow client, and a chunked body reaches Django with its Content-Length.
  The bodies being received at once hold at most HTTP_BODY_BUFFER_BYTES
  together (503 with Retry-After past it).
- `ConcurrencyLimit` caps the HTTP requests in flight per process. uvicorn's
  own --limit-concurrency answers a bare text 503; this answers 503
  problem+json with Retry-After at once, instead of queueing without bound.

The limits on the request head (size 431, time 408) need the server: see
catfeeder.runtime.uvicorn_head.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

from apps.api.problems import BARE_HEADERS


def problem_body(status: int, title: str, detail: str) -> bytes:
    return json.dumps({"type": "about:blank", "title": title, "status": status, "detail": detail}).encode()


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


Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]
MULTIPART = b"multipart/form-data"


class BodyTooLarge(Exception):
    pass


class BodiesTooLarge(Exception):
    pass


class ClientGone(Exception):
    pass


async def problem(
    send: Send, status: int, title: str, detail: str, *, extra: tuple[tuple[bytes, bytes], ...] = ()
) -> None:
    """A problem+json answer that also closes the connection (the rest of the request may be unread)."""
    body = problem_body(status, title, detail)
    headers = [*BARE_HEADERS, *extra, (b"server", b"catfeeder"), (b"connection", b"close")]
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class RequestBody:
    """The whole body, read under a deadline and a cap, then replayed to `app` as one message."""

    def __init__(self, app: App, *, timeout: float, max_bytes: int, max_upload_bytes: int, max_buffered: int) -> None:
        self.app = app
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.max_upload_bytes = max_upload_bytes
        self.max_buffered = max_buffered  # bytes of bodies being received at once, all requests together
        self.buffered = 0  # one event loop per process: no lock needed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length: bytes | None = None
        chunked = multipart = False
        for name, value in scope["headers"]:
            if name == b"content-length":
                length = value
            elif name == b"transfer-encoding":
                chunked = True
            elif name == b"content-type":
                multipart = value[: len(MULTIPART)].lower() == MULTIPART
        if not chunked and (length is None or length == b"0"):
            await self.app(scope, receive, send)  # no body: nothing to wait for
            return
        cap = self.max_upload_bytes if multipart else self.max_bytes
        if length is not None and int(length) > cap:  # the server let only digits through
            await problem(send, 413, "Content Too Large", f"The request body is over {cap} bytes.")
            return
        try:
            async with asyncio.timeout(self.timeout):
                body = await self.read(receive, cap)
        except TimeoutError:
            detail = f"The request body took over {self.timeout:g}s."
            await problem(send, 408, "Request Timeout", detail)
            return
        except BodyTooLarge:
            await problem(send, 413, "Content Too Large", f"The request body is over {cap} bytes.")
            return
        except BodiesTooLarge:
            detail = "The server is receiving too many request bodies; try again in a moment."
            await problem(send, 503, "Service Unavailable", detail, extra=((b"retry-after", b"1"),))
            return
        except ClientGone:
            return  # nobody to answer
        if chunked:  # the server has de-chunked it: say how long it is (WSGI and Django read by length)
            headers = [(n, v) for n, v in scope["headers"] if n not in (b"transfer-encoding", b"content-length")]
            scope = {**scope, "headers": [*headers, (b"content-length", str(len(body)).encode())]}
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()  # what comes next: the client's disconnect
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def read(self, receive: Receive, cap: int) -> bytes:
        """The whole body; its bytes count against `max_buffered` while it arrives (slow clients
        could otherwise make the process hold connections x cap bytes)."""
        chunks: list[bytes] = []
        size = 0
        try:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    raise ClientGone
                chunk = message.get("body", b"")
                if size + len(chunk) > cap:
                    raise BodyTooLarge
                if self.buffered + len(chunk) > self.max_buffered:
                    raise BodiesTooLarge
                size += len(chunk)
                self.buffered += len(chunk)
                chunks.append(chunk)
                if not message.get("more_body", False):
                    return b"".join(chunks)
        finally:
            self.buffered -= size
