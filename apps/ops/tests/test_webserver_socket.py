"""The web process serves the socket `manage.py serve` binds as a TCP socket: connections get
TCP_NODELAY, so a response written in two parts never waits for the client's delayed ACK."""

from __future__ import annotations

import asyncio
import select
import socket

import pytest
import uvloop

from catfeeder.runtime.serve import ListenError, listen_socket, listen_sockets
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


def test_each_web_process_has_a_socket_of_its_own_and_connections_are_spread_over_them() -> None:
    socks = listen_sockets("127.0.0.1", 0, 2)
    clients = []
    try:
        assert len({sock.fileno() for sock in socks}) == 2
        assert len({sock.getsockname() for sock in socks}) == 1  # one port
        # A burst of connections while nobody accepts, as wrk or a reconnect storm opens them:
        # with one shared socket, the first process to wake would take them all.
        for _ in range(40):
            client = socket.create_connection(socks[0].getsockname()[:2])
            clients.append(client)
        waiting = []
        for sock in socks:
            sock.setblocking(False)
            count = 0
            while select.select([sock], [], [], 0.5)[0]:
                try:
                    sock.accept()[0].close()
                except BlockingIOError:
                    break
                count += 1
            waiting.append(count)
        assert sum(waiting) == 40
        assert min(waiting) >= 5, waiting  # spread by address hash: 20 each on average
    finally:
        for client in clients:
            client.close()
        for sock in socks:
            sock.close()


def test_a_port_another_program_shares_with_so_reuseport_is_busy_not_joined() -> None:
    other = socket.socket()
    other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    other.bind(("127.0.0.1", 0))
    other.listen()
    try:
        port = other.getsockname()[1]
        with pytest.raises(ListenError, match="address already in use"):
            listen_sockets("127.0.0.1", port, 2)
    finally:
        other.close()


def test_one_web_process_has_the_plain_socket() -> None:
    [sock] = listen_sockets("127.0.0.1", 0, 1)
    try:
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT) == 0
    finally:
        sock.close()
