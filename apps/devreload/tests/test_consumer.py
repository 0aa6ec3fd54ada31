from __future__ import annotations

import asyncio
from typing import Any

from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator

from apps.devreload import services, state
from apps.devreload.routing import websocket_urlpatterns
from apps.devreload.selectors import server_id
from apps.devreload.tests.conftest import MESSAGE_WAIT

# The consumer as mounted, whatever DEBUG was when catfeeder.routing was imported.
application = URLRouter(websocket_urlpatterns)


def page_socket(origin: bytes = b"http://localhost:8000") -> WebsocketCommunicator:
    return WebsocketCommunicator(application, "/ws/devreload/", headers=[(b"origin", origin)])


def test_a_page_is_greeted_with_the_server_id_and_the_current_failures() -> None:
    state.failures["assets/*.scss"] = "site.scss line 4: undefined variable"

    async def scenario() -> Any:
        page = page_socket()
        connected, _ = await page.connect(timeout=MESSAGE_WAIT)
        assert connected
        hello = await page.receive_json_from(timeout=MESSAGE_WAIT)
        await page.disconnect()
        return hello

    assert asyncio.run(scenario()) == {
        "type": "hello",
        "server_id": server_id(),
        "failures": [{"route": "assets/*.scss", "output": "site.scss line 4: undefined variable"}],
    }


def test_every_connected_page_gets_what_the_server_sends() -> None:
    async def scenario() -> list[Any]:
        pages = [page_socket(), page_socket()]
        for page in pages:
            await page.connect(timeout=MESSAGE_WAIT)
            await page.receive_json_from(timeout=MESSAGE_WAIT)  # hello
        await services.pages_send(message={"type": "reload", "files": ["templates/base.html"]})
        received = [await page.receive_json_from(timeout=MESSAGE_WAIT) for page in pages]
        for page in pages:
            await page.disconnect()
        return received

    assert asyncio.run(scenario()) == [{"type": "reload", "files": ["templates/base.html"]}] * 2


def test_a_recorded_failure_and_its_recovery_reach_the_pages_once_each() -> None:
    async def scenario() -> list[Any]:
        page = page_socket()
        await page.connect(timeout=MESSAGE_WAIT)
        await page.receive_json_from(timeout=MESSAGE_WAIT)  # hello
        await services.failure_set(route="a/*", output="boom")
        await services.failure_set(route="a/*", output="boom")  # unchanged: not sent again
        await services.failure_set(route="a/*", output=None)
        received = [await page.receive_json_from(timeout=MESSAGE_WAIT) for _ in range(2)]
        assert await page.receive_nothing(timeout=0.2)
        await page.disconnect()
        return received

    assert asyncio.run(scenario()) == [
        {"type": "failures", "failures": [{"route": "a/*", "output": "boom"}]},
        {"type": "failures", "failures": []},
    ]


def test_a_page_from_another_site_is_refused() -> None:
    async def scenario() -> bool:
        connected, _ = await page_socket(origin=b"http://evil.example").connect(timeout=MESSAGE_WAIT)
        return bool(connected)

    assert not asyncio.run(scenario())
