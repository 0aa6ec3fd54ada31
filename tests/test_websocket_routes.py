"""The WebSocket router as the production server runs it."""

from __future__ import annotations

import asyncio

import websockets

from catfeeder.testing import AsgiServer


def test_a_handshake_on_an_unknown_path_gets_404_not_a_server_error(asgi_server: AsgiServer) -> None:
    async def attempt() -> int:
        try:
            async with websockets.connect(f"{asgi_server.ws_url}/ws/no-such-socket/", origin=asgi_server.url):  # type: ignore[arg-type]
                return 101
        except websockets.InvalidStatus as exc:
            return int(exc.response.status_code)

    assert asyncio.run(attempt()) == 404
    assert "No route found" not in asgi_server.output()
