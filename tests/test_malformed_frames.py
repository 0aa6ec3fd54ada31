"""10,000 malformed frames over 10 connections: each gets its typed error or close
code, the server stays up, and its memory grows by at most 50 MB.

A server of its own (rate limit lifted: this is a flood on purpose), so the
RSS measured is this test's alone.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from django.test import Client
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from apps.accounts.models import User
from catfeeder.testing import AsgiServer, process_env
from conftest import app_token

FRAMES = 10_000
CONNECTIONS = 10
MAX_GROWTH = 50 * 1024 * 1024  # bytes
OVERSIZE = '{"type": "Multiply", "pad": "' + "x" * 65_536 + '"}'


def malformed(n: int) -> tuple[str | bytes, bool, str | int]:
    """Frame n: (payload, sent as text, the Error code or close code it must get)."""
    kind = n % 100
    if kind == 0:
        return OVERSIZE, True, 1009
    if kind == 1:
        return b'{"type": "Multiply", "x": "\xff\xfe"}', True, 1007  # not UTF-8
    cases: list[tuple[str | bytes, bool, str]] = [
        ('{"type": "Multiply", "id": 1, "x": 1', True, "invalid_json"),
        ("[1, 2, 3]", True, "invalid_message"),
        ('{"id": 1, "x": 1}', True, "invalid_message"),
        (f'{{"type": "NoSuchMessage{n}", "id": 1}}', True, "unknown_type"),
        ('{"type": "Multiply", "id": 1, "x": "one", "y": [2]}', True, "validation"),
        ('{"type": "Multiply", "id": 1, "x": true, "y": null}', True, "validation"),
        (b"\x00\x01\x02binary", False, "unsupported_frame"),
        ('{"type": "Divide", "id": 1, "x": 1, "y": 0}', True, "division_by_zero"),
        ("[" * 5000 + "]" * 5000, True, "invalid_json"),  # deep nesting
    ]
    return cases[kind % len(cases)]


@pytest.fixture
def flood_server(_asgi_server: AsgiServer, transactional_db: None, process_logs: Path) -> Iterator[AsgiServer]:
    env = process_env(WS_MESSAGES_PER_SECOND="1000000", WS_MESSAGE_BURST="1000000")
    server = AsgiServer(env=env, log_dir=process_logs)
    yield server
    server.stop()


async def flood(url: str, token: str, frames: list[int], outcomes: Counter[str]) -> None:
    headers = {"X-Session-Token": token}
    ws: ClientConnection | None = None
    for n in frames:
        if ws is None:
            ws = await connect(url, additional_headers=headers, compression=None, max_size=None)
        payload, as_text, expected = malformed(n)
        await ws.send(payload, text=as_text)
        try:
            reply = json.loads(await asyncio.wait_for(ws.recv(), 10))
            got: str | int = reply["code"] if reply["type"] == "Error" else reply["type"]
        except ConnectionClosed as closed:
            got = closed.rcvd.code if closed.rcvd else "no close frame"
            ws = None
        assert got == expected, f"frame {n}: expected {expected!r}, got {got!r}"
        outcomes[str(got)] += 1
    if ws is not None:
        await ws.close()


async def run_flood(url: str, token: str) -> Counter[str]:
    outcomes: Counter[str] = Counter()
    await asyncio.gather(
        *(flood(url, token, list(range(c, FRAMES, CONNECTIONS)), outcomes) for c in range(CONNECTIONS))
    )
    return outcomes


def test_ten_thousand_malformed_frames_get_typed_answers_and_leave_the_server_up(
    flood_server: AsgiServer, alice: User
) -> None:
    url = f"{flood_server.ws_url}/ws/app/"
    token = app_token(Client(), alice)
    process = psutil.Process(flood_server.popen.pid)
    asyncio.run(run_flood_warm_up(url, token))
    before = process.memory_info().rss

    outcomes = asyncio.run(run_flood(url, token))

    assert sum(outcomes.values()) == FRAMES
    assert outcomes["1009"] == outcomes["1007"] == FRAMES // 100
    assert flood_server.check_alive()
    assert process.memory_info().rss - before <= MAX_GROWTH
    assert "Traceback" not in flood_server.output()


async def run_flood_warm_up(url: str, token: str) -> None:
    """A few hundred good and bad frames first, so start-up allocations are not counted as growth."""
    async with connect(url, additional_headers={"X-Session-Token": token}, compression=None) as ws:
        for n in range(300):
            await ws.send('{"type": "Multiply", "id": 1, "x": 1, "y": 2}' if n % 2 else "{bad")
            await ws.recv()
