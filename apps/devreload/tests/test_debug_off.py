"""With DEBUG off there is no live reload at all: no route, no script, no watcher."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import websockets

from apps.devreload.tests.harness import Runserver, demo_env, demo_project
from catfeeder.testing import BASE_DIR, AsgiServer, process_env

pytestmark = pytest.mark.xdist_group("debug_off")  # one production-like server, set up once

PRODUCTION = {
    "DJANGO_DEBUG": "false",
    "DJANGO_SECRET_KEY": "k3y-" + "x7Qp9Lm2Zt" * 6,
    "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
    "DJANGO_SECURE_SSL_REDIRECT": "false",  # plain HTTP on loopback; TLS ends at the proxy in production
}


def status_and_body(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback URL built here
            return int(response.status), response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def handshake_status(url: str, origin: str) -> int:
    """The HTTP status a WebSocket handshake gets (101 when the socket opens)."""

    async def attempt() -> int:
        try:
            async with websockets.connect(url, origin=origin):  # type: ignore[arg-type]
                return 101
        except websockets.InvalidStatus as exc:
            return int(exc.response.status_code)

    return asyncio.run(attempt())


@pytest.fixture(scope="module")
def production_server(django_db_setup: None, process_logs: Path) -> Iterator[AsgiServer]:
    server = AsgiServer(env=process_env(**PRODUCTION), log_dir=process_logs)
    yield server
    server.stop()


def test_with_debug_off_the_socket_is_not_mounted_and_answers_404(production_server: AsgiServer) -> None:
    assert status_and_body(f"{production_server.url}/ws/devreload/")[0] == 404
    url = f"{production_server.ws_url}/ws/devreload/"
    assert handshake_status(url, origin=production_server.url) == 404


def test_with_debug_off_pages_carry_no_script(production_server: AsgiServer) -> None:
    status, body = status_and_body(f"{production_server.url}/admin/login/")
    assert status == 200
    assert "<form" in body
    assert "devreload.js" not in body


def test_with_debug_on_the_same_page_carries_the_script_and_the_socket_opens(asgi_server: AsgiServer) -> None:
    status, body = status_and_body(f"{asgi_server.url}/admin/login/")
    assert status == 200
    assert 'data-path="/ws/devreload/"' in body
    assert handshake_status(f"{asgi_server.ws_url}/ws/devreload/", origin=asgi_server.url) == 101


def test_with_debug_off_settings_have_neither_the_middleware_nor_the_route() -> None:
    code = (
        "import django, json; django.setup(); from django.conf import settings;"
        "from catfeeder.routing import websocket_urlpatterns as ws;"
        "print(json.dumps([settings.MIDDLEWARE, [str(p.pattern) for p in ws]]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=process_env(**PRODUCTION), cwd=BASE_DIR,
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    middleware, routes = json.loads(done.stdout)
    assert not [m for m in middleware if "devreload" in m]
    assert "ws/devreload/" not in routes


def test_runserver_with_debug_off_starts_no_watcher_and_injects_nothing(django_db_setup: None, tmp_path: Path) -> None:
    project = demo_project(tmp_path)
    server = Runserver(env=demo_env(project, process_env(**PRODUCTION)), log=tmp_path / "runserver.log")
    try:
        status, body = status_and_body(f"{server.url}/demo/")
        assert (status, "template one" in body, "devreload.js" in body) == (200, True, False)
        assert status_and_body(f"{server.url}/ws/devreload/")[0] == 404
        # Daphne has no way to answer a handshake with 404: it refuses it with 403.
        assert handshake_status(f"{server.url.replace('http', 'ws')}/ws/devreload/", origin=server.url) == 403
    finally:
        server.stop()
    assert "watching" not in server.output()
