"""The web process serves the socket `manage.py serve` binds as a TCP socket: connections get
TCP_NODELAY, so a response written in two parts never waits for the client's delayed ACK."""

from __future__ import annotations

import asyncio
import socket

import uvloop

from catfeeder.runtime.serve import listen_socket
from catfeeder.runtime.webserver import inherited_socket


def nodelay_of_accepted_connection(listening: socket.socket) -> int:
    """Serve `listening` on uvloop (as uvicorn does), connect once: TCP_NODELAY of the server's side."""

    async def scenario() -> int:
        accepted: asyncio.Future[asyncio.BaseTransport] = asyncio.get_running_loop().create_future()

        class Keep(asyncio.Protocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                accepted.set_result(transport)

        server = await asyncio.get_running_loop().create_server(Keep, sock=listening)
        _, writer = await asyncio.open_connection(*listening.getsockname()[:2])
        transport = await asyncio.wait_for(accepted, 10)
        value = transport.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        writer.close()
        transport.close()
        server.close()
        return int(value)

    return uvloop.run(scenario())


def test_connections_on_the_inherited_socket_are_sent_without_delay() -> None:
    bound = listen_socket("127.0.0.1", 0)  # as serve binds it
    served = inherited_socket(bound.fileno())
    try:
        assert served.family == socket.AF_INET
        assert nodelay_of_accepted_connection(served) != 0
    finally:
        bound.detach()  # `served` owns the descriptor now
        served.close()
