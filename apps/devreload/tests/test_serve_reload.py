"""`manage.py serve --reload`: uvicorn's reloader plus the devreload watcher and socket."""

from __future__ import annotations

import asyncio
import json
import tempfile
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import websockets

from apps.devreload.tests.harness import ServeReload, demo_env, demo_project, edit
from catfeeder.testing import process_env

pytestmark = pytest.mark.django_db(transaction=True)

WAIT = 20  # seconds: generous bound for one message on a busy machine
RESTART_WAIT = 90  # seconds for the web process to come back after a Python edit


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback URL built here
        return str(response.read().decode())


async def next_message(socket: Any) -> dict[str, Any]:
    return dict(json.loads(await asyncio.wait_for(socket.recv(), WAIT)))


async def hello_after_restart(ws_url: str, origin: str, old_server: str) -> dict[str, Any]:
    """Reconnect, as the page does, until a new server process answers."""
    deadline = asyncio.get_running_loop().time() + RESTART_WAIT
    while asyncio.get_running_loop().time() < deadline:
        try:
            async with websockets.connect(ws_url, origin=origin) as socket:  # type: ignore[arg-type]
                hello = await next_message(socket)
                if hello["server_id"] != old_server:
                    return hello
        except (OSError, websockets.InvalidStatus, websockets.ConnectionClosed):
            pass
        await asyncio.sleep(0.2)
    raise TimeoutError("no new server answered")


def test_serve_reload_swaps_css_reloads_templates_restarts_on_python_and_stops_the_watcher_first(
    tmp_path: Path,
) -> None:
    project = demo_project(tmp_path)
    # A run directory and an embedded Redis of its own, as in apps/ops/tests/test_serve.py.
    env = demo_env(project, process_env(CATFEEDER_TEST_DIR=tempfile.mkdtemp(prefix="cf-serve-"), REDIS_URL=""))
    server = ServeReload(env=env, log=tmp_path / "serve.log")
    ws_url, origin = server.url.replace("http", "ws") + "/ws/devreload/", server.url
    try:
        assert 'data-path="/ws/devreload/"' in get(f"{server.url}/demo/")
        assert "devreload" in get(f"{server.url}/static/devreload/devreload.js")  # static files served

        async def scenario() -> tuple[list[dict[str, Any]], dict[str, Any], dict[str, Any]]:
            async with websockets.connect(ws_url, origin=origin) as socket:  # type: ignore[arg-type]
                hello = await next_message(socket)
                edit(project / "static" / "css" / "demo.css", "rgb(200, 0, 0)", "rgb(0, 150, 0)")
                css = await next_message(socket)
                edit(project / "templates" / "demo.html", "template one", "template two")
                reload = await next_message(socket)
                edit(project / "devreload_demo.py", "python one", "python number two")
                with pytest.raises(websockets.ConnectionClosed):
                    await next_message(socket)
            return [css, reload], hello, await hello_after_restart(ws_url, origin, hello["server_id"])

        (css, reload), hello, new_hello = asyncio.run(scenario())
        assert css == {"type": "css", "urls": ["/static/css/demo.css"]}
        assert reload["type"] == "reload"
        assert reload["files"] == [str(project / "templates" / "demo.html")]
        assert new_hello["server_id"] != hello["server_id"]
        page = get(f"{server.url}/demo/")
        assert "python number two" in page
        assert "template two" in page
    finally:
        code = server.stop()
    output = server.output()
    assert code == 0, output
    assert "all stopped" in output
    # uvicorn says "Shutting down" when its own shutdown begins: after the watcher's.
    assert output.rindex("watcher stopped") < output.rindex("Shutting down")
