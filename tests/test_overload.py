"""Slow clients and floods against the real server: cut at the deadline, refused past the cap."""

from __future__ import annotations

import asyncio
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from catfeeder.testing import AsgiServer, http_ok, process_env

pytestmark = pytest.mark.django_db(transaction=True)
DEADLINE = 3  # seconds, HTTP_HEADER_TIMEOUT for these servers
TRICKLERS = 200
TRICKLE_FOR = 60  # seconds at most: the test ends as soon as every trickler is cut


def start_server(log_dir: Path, **env: str) -> tuple[AsgiServer, str]:
    """The production web server (catfeeder.runtime.webserver) with the slow test route."""
    server = AsgiServer(env=process_env(DJANGO_SETTINGS_MODULE="tests.support.slow_site", **env), log_dir=log_dir)
    return server, server.url


async def trickle(port: int) -> float:
    """Send a request's headers one byte a second; return when the server cuts us."""
    started = time.monotonic()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    request = b"GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 200
    try:
        for byte in request:
            writer.write(bytes([byte]))
            await writer.drain()
            try:
                answer = await asyncio.wait_for(reader.read(4096), timeout=1)
            except TimeoutError:
                continue
            if answer == b"" or answer.startswith(b"HTTP/1.1 408"):
                break
            if time.monotonic() - started > TRICKLE_FOR:
                break
    except ConnectionError:
        pass
    finally:
        writer.close()
    return time.monotonic() - started


async def slowloris_while_serving(port: int, url: str) -> tuple[list[float], list[bool]]:
    normal: list[bool] = []

    async def keep_asking() -> None:
        while True:
            normal.append(await asyncio.to_thread(http_ok, f"{url}/health/live"))
            await asyncio.sleep(0.2)

    asker = asyncio.create_task(keep_asking())
    try:
        cut_after = await asyncio.gather(*(trickle(port) for _ in range(TRICKLERS)))
    finally:
        asker.cancel()
    return cut_after, normal


def test_slow_header_tricklers_are_cut_at_the_deadline_while_others_are_served(process_logs: Path) -> None:
    server, url = start_server(process_logs, HTTP_HEADER_TIMEOUT=str(DEADLINE))
    try:
        cut_after, normal = asyncio.run(slowloris_while_serving(int(url.rsplit(":", 1)[1]), url))
    finally:
        server.stop()
    assert len(cut_after) == TRICKLERS
    assert max(cut_after) < TRICKLE_FOR  # every one was cut, none outlived the bound
    assert min(cut_after) >= DEADLINE - 0.5  # and not before the deadline
    assert normal
    assert all(normal)


def test_a_flood_past_the_concurrency_cap_gets_503_with_retry_after(process_logs: Path) -> None:
    server, url = start_server(process_logs, HTTP_MAX_CONCURRENCY="4")

    def get(path: str) -> tuple[int, str | None, str]:
        try:
            with urllib.request.urlopen(f"{url}{path}", timeout=20) as response:  # noqa: S310 - loopback
                return response.status, response.headers.get("Retry-After"), response.headers["Content-Type"]
        except urllib.error.HTTPError as error:
            return error.code, error.headers.get("Retry-After"), error.headers["Content-Type"]

    try:
        with ThreadPoolExecutor(max_workers=24) as pool:
            answers = list(pool.map(get, ["/test/slow/?seconds=2"] * 24))
        after = get("/health/live")
    finally:
        server.stop()
    statuses = sorted(status for status, _, _ in answers)
    assert statuses.count(200) >= 4
    refused = [a for a in answers if a[0] == 503]
    assert len(refused) >= 12  # far more than the cap: refused at once, not queued or timed out
    assert all(retry == "1" and kind == "application/problem+json" for _, retry, kind in refused)
    assert after[0] == 200  # and it serves again once the flood is over
