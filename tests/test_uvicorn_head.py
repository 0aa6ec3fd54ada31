"""What catfeeder.runtime.uvicorn_head relies on from uvicorn, pinned against the installed version.

uvicorn builds the protocol class given as `Config(http=...)` with the keyword
arguments of its own HttpToolsProtocol and drives it only through the
asyncio.Protocol methods: requests, kept-alive requests, WebSocket upgrades
and the server's shutdown all work through the wrapper, and the wrapper's own
answers (431, 408) reach the client. An upgrade of uvicorn that breaks any of
this fails here (requirements.in bounds it).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import uvicorn
from websockets.asyncio.client import connect

from catfeeder.runtime.uvicorn_head import HeadLimits
from catfeeder.testing import free_port

TIMEOUT = 0.5  # HTTP_HEADER_TIMEOUT here, seconds
MAX_HEAD = 2048  # HTTP_MAX_HEADER_BYTES here


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "websocket":
        await receive()
        await send({"type": "websocket.accept"})
        message = await receive()
        await send({"type": "websocket.send", "text": message.get("text", "")})
        await send({"type": "websocket.close", "code": 1000})
        return
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})


@asynccontextmanager
async def serving() -> AsyncIterator[int]:
    port = free_port()
    config = uvicorn.Config(app, port=port, http=HeadLimits, lifespan="off", log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        yield port
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


def talk(port: int, parts: tuple[bytes, ...], pause: float) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        try:
            for part in parts:
                sock.sendall(part)
                time.sleep(pause)
        except ConnectionError:
            pass  # the server answered and closed before the request was all sent
        data = b""
        with contextlib.suppress(ConnectionError):
            while chunk := sock.recv(65536):  # until the server closes
                data += chunk
        return data


async def exchange(port: int, *parts: bytes, pause: float = 0) -> bytes:
    return await asyncio.to_thread(talk, port, parts, pause)


GET = b"GET / HTTP/1.1\r\nHost: x\r\n"


async def scenarios() -> dict[str, bytes]:
    async with serving() as port:
        kept_alive = await exchange(port, GET + b"\r\n", GET + b"Connection: close\r\n\r\n", pause=0.05)
        big = [GET + b"X-Big: ", *[b"a" * MAX_HEAD] * 4, b"\r\n\r\n"]  # in several reads
        too_large = await exchange(port, *big, pause=0.05)
        second_too_slow = await exchange(port, GET + b"\r\n", b"GET / HTTP/1.1\r\nX-Slow: a", pause=0.05)
        async with connect(f"ws://127.0.0.1:{port}/") as ws:
            await ws.send("hello")
            echoed = str(await ws.recv()).encode()
        idle = socket.create_connection(("127.0.0.1", port))  # says nothing: 408 at the deadline
        idle.settimeout(10)
        silent = await asyncio.to_thread(idle.recv, 4096)
        idle.close()
    return {"kept_alive": kept_alive, "too_large": too_large, "second_too_slow": second_too_slow,
            "echoed": echoed, "silent": silent}  # fmt: skip


def test_uvicorn_drives_the_wrapped_protocol_and_its_answers_reach_the_client(settings: Any) -> None:
    settings.HTTP_HEADER_TIMEOUT = TIMEOUT
    settings.HTTP_MAX_HEADER_BYTES = MAX_HEAD
    seen = asyncio.run(scenarios())
    assert seen["kept_alive"].count(b"HTTP/1.1 200 OK") == 2
    assert seen["too_large"].startswith(b"HTTP/1.1 431 ")
    assert b"application/problem+json" in seen["too_large"]
    first, _, second = seen["second_too_slow"].partition(b"ok")
    assert first.startswith(b"HTTP/1.1 200 OK")
    assert second.startswith(b"HTTP/1.1 408 ")  # the deadline starts again with each request
    assert seen["echoed"] == b"hello"
    assert seen["silent"].startswith(b"HTTP/1.1 408 ")


@pytest.mark.parametrize("name", ["connection_made", "data_received", "eof_received", "connection_lost",
                                  "pause_writing", "resume_writing", "shutdown"])  # fmt: skip
def test_uvicorns_httptools_protocol_still_has_what_the_wrapper_forwards(name: str) -> None:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    assert callable(getattr(HttpToolsProtocol, name))
