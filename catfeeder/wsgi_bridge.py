"""Django's WSGI handler under ASGI, with one thread hand-off each way.

a2wsgi's WSGIMiddleware blocks its request thread on the event loop for every
part of the answer (head, each chunk, end): three cross-thread round trips a
request, during which the thread holds its place and the loop wakes three
times. In the read benchmark that was a third of the request threads' time.
Here the body is read in the event loop first, the thread runs Django and
returns the whole answer, and the loop sends it. Only an answer larger than
`buffer_bytes` (a file) goes on from the thread, part by part, each handed to
the loop and awaited there (a slow client holds the thread then, as before).

The environ follows PEP 3333. `CONTENT_LENGTH` is the length of the body
actually read, so a chunked body reaches Django whole; a body over `max_body`
answers 413 before a thread is taken. Header names with an underscore are
dropped, as gunicorn and Django's runserver do: `X_Session_Token` would
otherwise read as `X-Session-Token`.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import sys
from collections.abc import Awaitable, Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from io import BytesIO
from typing import Any

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

PROBLEM = b"application/problem+json"


@dataclass
class Answer:
    status: int = 500
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytes = b""
    streamed: bool = False  # the thread sent all but its end already, part by part


class Disconnected(Exception):
    pass


class WsgiBridge:
    def __init__(self, app: WsgiApp, *, threads: int, max_body: int, buffer_bytes: int = 256 * 1024) -> None:
        self.app = app
        self.executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="django")
        self.max_body = max_body
        self.buffer_bytes = buffer_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            raise ValueError(f"WsgiBridge serves HTTP only, not {scope['type']}")
        try:
            body = await self.body_read(receive)
        except Disconnected:
            return
        if body is None:
            await self.too_large(send)
            return
        environ = wsgi_environ(scope, body)
        loop = asyncio.get_running_loop()
        context = contextvars.copy_context()  # the request's correlation id and log fields
        answer: Answer = await loop.run_in_executor(self.executor, context.run, self.respond, environ, loop, send)
        if answer.streamed:  # its end goes out once the thread has closed it (request_finished has run)
            await send({"type": "http.response.body", "body": b""})
            return
        await send({"type": "http.response.start", "status": answer.status, "headers": answer.headers})
        await send({"type": "http.response.body", "body": answer.body})

    async def body_read(self, receive: Receive) -> bytes | None:
        """The whole body, or None past max_body."""
        parts: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise Disconnected
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                return None
            parts.append(chunk)
            if not message.get("more_body", False):
                return b"".join(parts)

    async def too_large(self, send: Send) -> None:
        detail = f"The request body is over {self.max_body} bytes."
        body = json.dumps({"type": "about:blank", "title": "Content Too Large", "status": 413, "detail": detail})
        headers = [(b"content-type", PROBLEM), (b"connection", b"close")]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body.encode()})

    def respond(self, environ: dict[str, Any], loop: asyncio.AbstractEventLoop, send: Send) -> Answer:
        """In a request thread: Django's answer, kept whole unless it is large."""
        answer = Answer()

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[..., Any]:
            answer.status = int(status.split(" ", 1)[0])
            answer.headers = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers]
            return write_unsupported

        iterable = self.app(environ, start_response)
        try:
            parts: list[bytes] = []
            size = 0
            chunks: Iterator[bytes] = iter(iterable)
            for chunk in chunks:
                parts.append(chunk)
                size += len(chunk)
                if size > self.buffer_bytes:
                    self.stream(answer, b"".join(parts), chunks, loop, send)
                    return answer
            answer.body = b"".join(parts)
            return answer
        finally:
            close = getattr(iterable, "close", None)
            if close is not None:
                close()  # Django's request_finished, in the request's own thread

    @staticmethod
    def stream(
        answer: Answer, first: bytes, rest: Iterator[bytes], loop: asyncio.AbstractEventLoop, send: Send
    ) -> None:
        async def sent(message: Message) -> None:
            await send(message)

        def call(message: Message) -> None:
            asyncio.run_coroutine_threadsafe(sent(message), loop).result()

        answer.streamed = True
        call({"type": "http.response.start", "status": answer.status, "headers": answer.headers})
        call({"type": "http.response.body", "body": first, "more_body": True})
        for chunk in rest:
            if chunk:
                call({"type": "http.response.body", "body": chunk, "more_body": True})


def write_unsupported(data: bytes) -> None:
    raise NotImplementedError("the WSGI write() callable is not supported: return an iterable")


def wsgi_environ(scope: Scope, body: bytes) -> dict[str, Any]:
    """PEP 3333's environ for an ASGI HTTP scope and its whole body."""
    root_path = scope.get("root_path", "")
    path = scope["path"]
    if root_path and path.startswith(root_path):
        path = path[len(root_path) :]
    server = scope.get("server") or ("localhost", 80)
    environ: dict[str, Any] = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": root_path.encode("utf-8").decode("latin-1"),
        "PATH_INFO": path.encode("utf-8").decode("latin-1"),
        "QUERY_STRING": scope["query_string"].decode("latin-1"),
        "SERVER_NAME": str(server[0]),
        "SERVER_PORT": str(server[1] or 0),
        "SERVER_PROTOCOL": f"HTTP/{scope['http_version']}",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "asgi.scope": scope,
    }
    client = scope.get("client")
    if client is not None:
        environ["REMOTE_ADDR"], environ["REMOTE_PORT"] = client[0], str(client[1])
    for raw_name, raw_value in scope.get("headers", []):
        if b"_" in raw_name:
            continue  # it would read as the dashed header of the same name (as gunicorn, Django's runserver)
        name = raw_name.decode("latin-1").upper().replace("-", "_")
        if name in ("CONTENT_LENGTH", "TRANSFER_ENCODING"):
            continue  # the body has been read whole: its length is the one above
        key = name if name == "CONTENT_TYPE" else f"HTTP_{name}"
        value = raw_value.decode("latin-1")
        environ[key] = f"{environ[key]},{value}" if key in environ else value
    return environ
