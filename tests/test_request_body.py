"""The body limits in front of both of Django's doors: our WSGI bridge and Django's ASGI handler.

Either way a chunked body reaches the view whole (the limits give it its
length), and the view's thread never waits for the network.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from django.core.handlers.asgi import ASGIHandler
from django.core.wsgi import get_wsgi_application

from catfeeder.http_limits import RequestBody
from catfeeder.wsgi_bridge import WsgiBridge

pytestmark = pytest.mark.django_db(transaction=True)


def scope(headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    return {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
        "path": "/echo/", "raw_path": b"/echo/", "query_string": b"", "root_path": "",
        "headers": [(b"host", b"testserver"), (b"content-type", b"application/octet-stream"), *headers],
        "client": ("127.0.0.1", 40000), "server": ("testserver", 80),
    }  # fmt: skip


async def call(
    app: Any, headers: list[tuple[bytes, bytes]], parts: list[bytes], *, stalls: bool = False
) -> tuple[int, bytes]:
    """Send `parts` as the body; with `stalls`, the last is followed by nothing (the client waits)."""
    last = len(parts) - 1
    incoming = [{"type": "http.request", "body": part, "more_body": stalls or n < last} for n, part in enumerate(parts)]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if incoming:
            return incoming.pop(0)
        await asyncio.sleep(3600)  # the client stays: no disconnect
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await asyncio.wait_for(app(scope(headers), receive, send), 30)
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    return status, b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")


@pytest.fixture(params=["wsgi-bridge", "django-asgi"])
def django_app(request: pytest.FixtureRequest, settings: Any) -> Any:
    settings.ROOT_URLCONF = "tests.support.echo_urls"
    if request.param == "wsgi-bridge":
        return WsgiBridge(get_wsgi_application(), threads=2, max_body=10**6)
    return ASGIHandler()


def test_a_chunked_body_reaches_the_view_whole(django_app: Any) -> None:
    app = RequestBody(django_app, timeout=5, max_bytes=1000, max_upload_bytes=1000, max_buffered=10**6)
    status, body = asyncio.run(call(app, [(b"transfer-encoding", b"chunked")], [b"abc", b"def", b"ghi"]))
    assert (status, body) == (200, b"abcdefghi")


def test_a_chunked_body_over_the_cap_is_413_before_the_view(django_app: Any) -> None:
    app = RequestBody(django_app, timeout=5, max_bytes=5, max_upload_bytes=5, max_buffered=10**6)
    status, body = asyncio.run(call(app, [(b"transfer-encoding", b"chunked")], [b"abc", b"def"]))
    assert status == 413
    assert b"over 5 bytes" in body


def test_a_body_that_stops_coming_is_408(django_app: Any) -> None:
    app = RequestBody(django_app, timeout=0.2, max_bytes=1000, max_upload_bytes=1000, max_buffered=10**6)
    status, _ = asyncio.run(call(app, [(b"content-length", b"10")], [b"abc", b"de"], stalls=True))
    assert status == 408


def test_bodies_over_the_shared_budget_are_503_while_the_first_one_arrives(django_app: Any) -> None:
    app = RequestBody(django_app, timeout=1, max_bytes=1000, max_upload_bytes=1000, max_buffered=8)

    async def both() -> tuple[tuple[int, bytes], tuple[int, bytes]]:
        first = asyncio.create_task(call(app, [(b"content-length", b"100")], [b"123456"], stalls=True))
        await asyncio.sleep(0.1)  # the first holds 6 of the 8 bytes, waiting for the rest
        second = await call(app, [(b"content-length", b"5")], [b"abcde"])
        return await first, second

    (first_status, _), (second_status, detail) = asyncio.run(both())
    assert second_status == 503
    assert b"too many request bodies" in detail
    assert first_status == 408  # its own deadline; then the budget is free again
    assert app.buffered == 0
