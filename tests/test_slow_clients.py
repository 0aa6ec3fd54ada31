"""Slow, stalled and oversized requests against the production web server (catfeeder.runtime.webserver).

Stalled clients cost a connection and a coroutine, never a Django thread: while
200 of them hang mid-headers or mid-body, the health probe, the REST API and a
typed message answer; each stalled one gets its 408. Heads over the cap get
431, bodies over theirs 413, chunked included, and chunked bodies reach Django.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from apps.accounts.models import User
from apps.accounts.tests.factories import PASSWORD
from apps.feeders.models import Pet
from catfeeder.testing import AsgiServer, process_env
from tests.test_schemathesis import login

# One server for the module, set up once: its tests share a worker.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("slow_clients")]
DEADLINE = 4  # seconds, HTTP_HEADER_TIMEOUT and HTTP_BODY_TIMEOUT for this server
STALLED = 200  # half mid-headers, half mid-body
MAX_BODY = 4096  # HTTP_MAX_BODY_BYTES for this server
PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def _server(django_db_setup: None, django_db_blocker: object, process_logs: Path) -> Iterator[AsgiServer]:
    env = process_env(HTTP_HEADER_TIMEOUT=str(DEADLINE), HTTP_BODY_TIMEOUT=str(DEADLINE),
                      HTTP_MAX_BODY_BYTES=str(MAX_BODY), API_RATE_LIMIT_USER="1000/minute")  # fmt: skip
    server = AsgiServer(env=env, log_dir=process_logs)
    yield server
    server.stop()


@pytest.fixture
def server(_server: AsgiServer, transactional_db: None) -> AsgiServer:
    _server.check_alive()
    return _server


Answer = tuple[int, dict[str, str], bytes]


async def read_answer(reader: asyncio.StreamReader, timeout: float) -> Answer:
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
    status_line, *lines = head.decode("latin-1").rstrip("\r\n").split("\r\n")
    headers = {name.lower(): value for name, value in (line.split(": ", 1) for line in lines)}
    body = await asyncio.wait_for(reader.readexactly(int(headers.get("content-length", "0"))), timeout)
    return int(status_line.split()[1]), headers, body


async def ask(port: int, raw: bytes, timeout: float = 30) -> Answer:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(raw)
        with contextlib.suppress(ConnectionError):  # the server may answer before it has read it all
            await writer.drain()
        return await read_answer(reader, timeout)
    finally:
        writer.close()


def request(method: str, path: str, *, headers: dict[str, str] | None = None, body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def chunked(body: bytes, size: int = 100) -> bytes:
    parts = [b"%x\r\n%s\r\n" % (len(body[n : n + size]), body[n : n + size]) for n in range(0, len(body), size)]
    return b"".join(parts) + b"0\r\n\r\n"


async def stall(port: int, partial: bytes) -> int:
    """Send part of a request, then nothing: the status the server answers with (0: none)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(partial)
        await writer.drain()
        status, _, _ = await read_answer(reader, DEADLINE * 10)
        return status
    except (asyncio.IncompleteReadError, ConnectionError, TimeoutError):
        return 0
    finally:
        writer.close()


async def stalled_while_serving(port: int, token: str) -> tuple[list[int], list[int]]:
    mid_headers = b"GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: a"
    mid_body = request("POST", "/api/pets", headers={"X-Session-Token": token, "Content-Type": "application/json",
                                                     "Content-Length": "100"}, body=b'{"name": ')  # fmt: skip
    stalled = [asyncio.create_task(stall(port, mid_headers if n % 2 else mid_body)) for n in range(STALLED)]
    await asyncio.sleep(1)  # every stalled client has sent its part
    normal = []
    for path, headers in (
        ("/health/live", {}),
        ("/api/feeders", {"X-Session-Token": token}),
        ("/api/messages/Multiply?x=1&y=2", {}),
    ):
        status, _, body = await ask(port, request("GET", path, headers=headers), timeout=DEADLINE)
        normal.append(status)
        assert status == 200, body
    return normal, list(await asyncio.gather(*stalled))


def test_stalled_clients_get_408_while_everyone_else_is_served(server: AsgiServer, alice: User) -> None:
    token = login(server, alice)
    normal, stalled = asyncio.run(stalled_while_serving(server.port, token))
    assert normal == [200, 200, 200]
    assert stalled == [408] * STALLED


def test_a_2mb_header_gets_431_problem(server: AsgiServer) -> None:
    raw = request("GET", "/health/live", headers={"X-Big": "a" * 2_000_000})
    status, headers, body = asyncio.run(ask(server.port, raw))
    assert status == 431
    assert headers["content-type"] == PROBLEM
    assert json.loads(body)["status"] == 431


def test_a_chunked_body_reaches_django_and_creates_the_pet(server: AsgiServer, alice: User) -> None:
    token = login(server, alice)
    body = json.dumps({"name": "Chunky", "breed": "x" * 300}).encode()
    headers = {"X-Session-Token": token, "Content-Type": "application/json", "Transfer-Encoding": "chunked"}
    status, _, answer = asyncio.run(ask(server.port, request("POST", "/api/pets", headers=headers, body=chunked(body))))
    assert status == 422, answer  # breed is over its 100 characters: Django read the whole body
    assert "breed" in answer.decode()
    good = json.dumps({"name": "Chunky"}).encode()
    status, _, answer = asyncio.run(ask(server.port, request("POST", "/api/pets", headers=headers, body=chunked(good))))
    assert status == 201, answer
    assert json.loads(answer)["name"] == "Chunky"
    assert Pet.objects.filter(household__memberships__user=alice, name="Chunky").exists()


def test_a_chunked_typed_message_is_answered(server: AsgiServer) -> None:
    headers = {"Content-Type": "application/json", "Transfer-Encoding": "chunked"}
    raw = request("POST", "/api/messages/Multiply", headers=headers, body=chunked(b'{"x": 3, "y": 4}', size=3))
    status, _, answer = asyncio.run(ask(server.port, raw))
    assert status == 200, answer
    assert json.loads(answer)["value"] == 12


@pytest.mark.parametrize("framing", ["chunked", "content-length"])
def test_a_body_over_the_cap_is_413_problem(server: AsgiServer, framing: str) -> None:
    big = b'{"name": "' + b"x" * (MAX_BODY * 4) + b'"}'
    headers = {"Content-Type": "application/json"}
    if framing == "chunked":
        headers["Transfer-Encoding"] = "chunked"
        raw = request("POST", "/api/pets", headers=headers, body=chunked(big, size=1000))
    else:
        headers["Content-Length"] = str(len(big))
        raw = request("POST", "/api/pets", headers=headers)  # refused on the declared length: no body sent
    status, headers_in, body = asyncio.run(ask(server.port, raw))
    assert status == 413
    assert headers_in["content-type"] == PROBLEM
    assert headers_in["connection"] == "close"
    assert str(MAX_BODY) in json.loads(body)["detail"]


def test_a_chunked_log_in_is_read_whole(server: AsgiServer, alice: User) -> None:
    body = json.dumps({"email": alice.email, "password": PASSWORD}).encode()
    headers = {"Content-Type": "application/json", "Transfer-Encoding": "chunked"}
    raw = request("POST", "/_allauth/app/v1/auth/login", headers=headers, body=chunked(body, size=10))
    status, _, answer = asyncio.run(ask(server.port, raw))
    assert status == 200, answer
    assert json.loads(answer)["meta"]["session_token"]
