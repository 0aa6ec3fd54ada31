"""After Redis restarts, the web process works at once: no dead connection is left in a pool.

A real web server on a redis-server of the test's own (a free port, restarted
on the same port, keeping nothing). Sockets opened before the restart stay
open; right after it, 50 new sockets connect and exchange a message, a push
reaches old and new sockets through the channel layer, and a log-in (rate
limits in the cache, a new session) and an authenticated read (the session
from the cache) answer 200.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from apps.accounts.models import User
from apps.accounts.tests.factories import PASSWORD
from apps.api.tests.sockets import Socket, session_token
from catfeeder.testing import AsgiServer, process_env
from tests.support.tcp_redis import TcpRedis

pytestmark = pytest.mark.django_db(transaction=True)

NEW_SOCKETS = 50
OLD_SOCKETS = 3


@pytest.fixture
def server(tcp_redis: TcpRedis, process_logs: Path) -> Iterator[AsgiServer]:
    web = AsgiServer(env=process_env(REDIS_URL=tcp_redis.url), log_dir=process_logs)
    yield web
    web.stop()


def multiply_on_a_new_socket(server: AsgiServer, token: str, n: int) -> float:
    with Socket(f"{server.ws_url}/ws/app/", {"X-Session-Token": token}) as socket:
        return float(socket.call("Multiply", x=n, y=2)["value"])


def test_after_a_redis_restart_new_sockets_pushes_log_in_and_reads_work_at_once(
    server: AsgiServer, tcp_redis: TcpRedis, alice: User
) -> None:
    token = session_token(alice)
    headers = {"X-Session-Token": token}
    old = [Socket(f"{server.ws_url}/ws/app/", headers) for _ in range(OLD_SOCKETS)]
    try:
        assert [socket.call("Multiply", x=1, y=2)["value"] for socket in old] == [2.0] * OLD_SOCKETS
        tcp_redis.restart()

        with ThreadPoolExecutor(10) as pool:
            products = list(pool.map(lambda n: multiply_on_a_new_socket(server, token, n), range(NEW_SOCKETS)))
        assert products == [2.0 * n for n in range(NEW_SOCKETS)]

        with Socket(f"{server.ws_url}/ws/app/", headers) as new:
            echo = requests.post(f"{server.url}/api/messages/Echo", json={"value": 1.5}, headers=headers, timeout=10)
            assert echo.status_code == 200, echo.text
            assert new.expect("Output")["value"] == 3.0  # a push through the layer reaches a new socket
            assert [socket.expect("Output")["value"] for socket in old] == [3.0] * OLD_SOCKETS  # and the old ones

        login = requests.post(
            f"{server.url}/_allauth/app/v1/auth/login",
            json={"email": alice.email, "password": PASSWORD},
            timeout=10,
        )
        assert login.status_code == 200, login.text
        fresh = login.json()["meta"]["session_token"]
        feeders = requests.get(f"{server.url}/api/feeders", headers={"X-Session-Token": fresh}, timeout=10)
        assert feeders.status_code == 200, feeders.text
    finally:
        for socket in old:
            socket.__exit__()
