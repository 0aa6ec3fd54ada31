"""A stop that reaches a web process before uvicorn handles signals itself still stops it."""

from __future__ import annotations

import signal
import socket

import uvicorn

from catfeeder.runtime.webserver import stop_on_signal


async def app(scope: dict, receive: object, send: object) -> None:  # type: ignore[type-arg]
    """Never called: the server stops before any request."""
    raise AssertionError("no request is made")


def test_a_sigterm_while_the_process_starts_ends_the_server_once_it_has_started() -> None:
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_config=None))
    listening = socket.create_server(("127.0.0.1", 0))
    try:
        stop_on_signal(server)(signal.SIGTERM, None)  # the signal, before uvicorn's own handler is in
        server.run(sockets=[listening])  # returns after start-up instead of serving on
    finally:
        listening.close()
    # Without stop_on_signal's request to exit, run() served on until killed.
    assert server.started
