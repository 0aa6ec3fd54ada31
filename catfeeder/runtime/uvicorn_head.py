"""Limits on each request's head that uvicorn lacks: a size cap (431) and a deadline (408).

uvicorn's httptools protocol buffers a request head of any size (a 32 MiB
header was answered 200) and for as long as the client takes to send it
(a client trickling header bytes holds the connection for ever). No setting
of uvicorn bounds either (see the comparison of servers in the README's
"Limits"). `HeadLimits` is uvicorn's own httptools protocol with both, by
composition: it sees every byte before uvicorn's protocol does, follows the
request heads with a parser of its own (httptools' public parser, the one
uvicorn uses), and answers for itself when a head is too large or too slow.

    uvicorn.Config(app, http="catfeeder.runtime.uvicorn_head:HeadLimits")

What it relies on from uvicorn (pinned by tests/test_uvicorn_head.py, and
uvicorn is bounded in requirements.in): `Config(http=...)` builds the given
asyncio protocol class with the keyword arguments of uvicorn's own
`HttpToolsProtocol`, which is then driven only through the asyncio.Protocol
methods forwarded here. Everything else is public httptools and asyncio.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httptools
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from apps.api.problems import BARE_HEADERS
from catfeeder.http_limits import problem_body

LINGER = 2.0  # seconds a refused connection stays open, its input dropped, so that the answer arrives


class HeadLimits(asyncio.Protocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from django.conf import settings  # uvicorn builds protocols once the app (and Django) is loaded

        self.inner = HttpToolsProtocol(*args, **kwargs)
        self.loop = asyncio.get_running_loop()
        self.header_timeout: float = settings.HTTP_HEADER_TIMEOUT
        self.max_head: int = settings.HTTP_MAX_HEADER_BYTES
        self.server_name = f"catfeeder/{settings.CATFEEDER_VERSION}".encode()
        self.parser: httptools.HttpRequestParser | None = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.in_head = True  # from the connection (or a request's first byte) to the end of its head
        self.head_bytes = 0
        self.lingering = False

    # -- asyncio.Protocol, forwarded to uvicorn's protocol -----------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment] # a stream server's: an asyncio.Transport
        self.inner.connection_made(transport)  # type: ignore[arg-type]
        self.arm()

    def data_received(self, data: bytes) -> None:
        if self.lingering:
            return  # refused: what the client still sends is dropped until the close
        if self.parser is not None:
            if self.in_head:
                self.head_bytes += len(data)
            try:
                self.parser.feed_data(data)
            except (httptools.HttpParserUpgrade, httptools.HttpParserError):
                # A WebSocket (uvicorn hands the connection to its WebSocket protocol), or bytes
                # uvicorn's own parser refuses with 400: either way the head is over.
                self.parser = None
                self.disarm()
            else:
                if self.in_head and self.head_bytes > self.max_head:
                    # Only a read that leaves the head unfinished counts: a head may end up to
                    # one read (256 KiB) over the cap, but is never buffered beyond that.
                    detail = f"The request head is over {self.max_head} bytes."
                    self.refuse(431, "Request Header Fields Too Large", detail)
                    return
        self.inner.data_received(data)

    def eof_received(self) -> None:  # None: the transport closes itself, as for uvicorn's protocol
        self.inner.eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        self.disarm()
        self.parser = None
        self.inner.connection_lost(exc)

    def pause_writing(self) -> None:
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.inner.resume_writing()

    # -- httptools parser callbacks -------------------------------------------------
    def on_message_begin(self) -> None:
        if not self.in_head:  # a further request on a kept-alive connection
            self.in_head = True
            self.head_bytes = 0
            self.arm()

    def on_headers_complete(self) -> None:
        self.in_head = False
        self.disarm()

    # -- the deadline -----------------------------------------------------------------
    def arm(self) -> None:
        self.disarm()
        self.timer = self.loop.call_later(self.header_timeout, self.too_slow)

    def disarm(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def too_slow(self) -> None:
        self.timer = None
        self.refuse(408, "Request Timeout", f"The request headers took over {self.header_timeout:g}s.")

    def refuse(self, status: int, reason: str, detail: str) -> None:
        """Answer `status` problem+json and close, without uvicorn's protocol seeing any more."""
        self.disarm()
        self.parser = None
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        body = problem_body(status, reason, detail)
        head = [f"HTTP/1.1 {status} {reason}".encode(), b"server: " + self.server_name, b"connection: close"]
        head += [name + b": " + value for name, value in BARE_HEADERS]
        head.append(b"content-length: " + str(len(body)).encode())
        transport.write(b"\r\n".join(head) + b"\r\n\r\n" + body)
        # Closing now, with the client's bytes still unread, would reset the connection, and a
        # client still sending its head would often lose the answer: end our side, drop what
        # comes for a moment, then close.
        self.lingering = True
        if transport.can_write_eof():
            transport.write_eof()
        self.timer = self.loop.call_later(LINGER, transport.close)
