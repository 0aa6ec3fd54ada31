"""Typed messages while PostgreSQL or Redis is stopped or hung (SIGSTOP), then back.

Each test runs the real web server on a dependency of its own (a private
redis-server, a private PostgreSQL cluster) and signals only that: never the
machine's services. Over HTTP a message answers 503 problem+json with
Retry-After and a correlation id; on a socket it gets Error{dependency_unavailable} with
`retry_after`, and the socket stays usable. Outcomes are asserted, not times.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from apps.accounts.models import User
from apps.api.tests.sockets import Socket, session_token
from apps.feeders.tests.test_device_socket import home
from apps.ops.tests.conftest import PrivateRedis
from apps.ops.tests.test_chaos import PG_BIN, PrivatePostgres
from catfeeder.testing import AsgiServer, process_env

pytestmark = pytest.mark.django_db(transaction=True)

BOUND = "3"  # MESSAGE_TIMEOUT for these servers, seconds: a hung dependency is cut off here


def post(server: AsgiServer, name: str, **kwargs: Any) -> requests.Response:
    kwargs.setdefault("json", {})
    return requests.post(f"{server.url}/api/messages/{name}", timeout=30, **kwargs)


def assert_unavailable(response: requests.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    assert int(response.headers["Retry-After"]) > 0
    problem = response.json()
    assert problem["type"] == "urn:catfeeder:problem:dependency-unavailable"
    assert len(problem["correlation_id"]) == 32


def assert_socket_unavailable(socket: Socket, name: str) -> None:
    error = socket.call(name)
    assert (error["type"], error["code"]) == ("Error", "dependency_unavailable"), error
    assert error["retry_after"] > 0
    reply = socket.call("Multiply", x=2, y=3)  # the socket stays usable
    assert (reply["type"], reply["value"]) == ("Output", 6.0)


def works(server: AsgiServer, socket: Socket, name: str) -> None:
    response = post(server, name)
    assert response.status_code == 200, response.text
    assert response.json() == {"type": "Output", "value": 1.0}
    assert socket.call(name)["value"] == 1.0


def signal_all(pids: list[int], signum: signal.Signals) -> None:
    for pid in pids:
        os.kill(pid, signum)


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    server = PrivateRedis()
    server.start()
    yield server
    if server.process is not None and server.process.poll() is None:
        server.process.send_signal(signal.SIGCONT)  # a failed test may leave it stopped
    server.stop()


def test_redis_stopped_then_hung_then_back(private_redis: PrivateRedis, process_logs: Path, alice: User) -> None:
    token, device_token = session_token(alice), home(alice, 7).device_token
    server = AsgiServer(env=process_env(REDIS_URL=private_redis.url, MESSAGE_TIMEOUT=BOUND), log_dir=process_logs)
    try:
        with Socket(f"{server.ws_url}/ws/app/") as socket:
            works(server, socket, "CachePing")

            private_redis.stop()
            assert_unavailable(post(server, "CachePing"))
            assert_socket_unavailable(socket, "CachePing")
            with Socket(f"{server.ws_url}/ws/device/") as signing_in:  # a good token, but no group to join
                assert signing_in.call("Authenticate", token=device_token)["type"] == "Authenticated"
                error = signing_in.recv()
                assert (error["code"], error["id"]) == ("dependency_unavailable", "r1")
                assert signing_in.call("Multiply", x=2, y=3)["value"] == 6.0

            private_redis.start()
            works(server, socket, "CachePing")

            assert private_redis.process is not None
            signal_all([private_redis.process.pid], signal.SIGSTOP)
            try:
                assert_unavailable(post(server, "CachePing"))
                assert_socket_unavailable(socket, "CachePing")
            finally:
                signal_all([private_redis.process.pid], signal.SIGCONT)
            works(server, socket, "CachePing")
        with Socket(f"{server.ws_url}/ws/app/") as signing_in:
            assert signing_in.call("Authenticate", token=token)["type"] == "Authenticated"
            echoed = post(server, "Echo", json={"value": 2.5}, headers={"X-Session-Token": token})
            assert echoed.json() == {"type": "Output", "value": 2.5}
            assert signing_in.expect("Output", timeout=30)["value"] == 5.0  # signed in: its group gets the push
    finally:
        server.stop()


def cluster_pids(cluster: PrivatePostgres) -> list[int]:
    """The postmaster of the test's own cluster and its children (each connection is one)."""
    postmaster = int((cluster.data / "postmaster.pid").read_text().split()[0])
    children = subprocess.run(["pgrep", "-P", str(postmaster)], capture_output=True, text=True, check=False)
    return [postmaster, *map(int, children.stdout.split())]


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    if os.geteuid() != 0 or not (PG_BIN / "initdb").exists():
        pytest.skip("a private PostgreSQL cluster needs root (runuser) and PostgreSQL 15's binaries")
    cluster = PrivatePostgres()
    cluster.init()
    cluster.start()
    yield cluster
    if (cluster.data / "postmaster.pid").exists():
        signal_all(cluster_pids(cluster), signal.SIGCONT)
    subprocess.run(["runuser", "-u", "postgres", "--", str(PG_BIN / "pg_ctl"), "-D", str(cluster.data),
                    "-m", "immediate", "stop"], capture_output=True, timeout=60, check=False)  # fmt: skip


def test_postgresql_stopped_then_hung_then_back(private_postgres: PrivatePostgres, process_logs: Path) -> None:
    env = process_env(DATABASE_URL=private_postgres.url, MESSAGE_TIMEOUT=BOUND)
    server = AsgiServer(env=env, log_dir=process_logs)
    device = {"Authorization": "Bearer cfd_0123456789abcdef_0123456789abcdef"}
    try:
        with Socket(f"{server.ws_url}/ws/app/") as socket:
            works(server, socket, "DatabasePing")

            private_postgres.stop()
            assert_unavailable(post(server, "DatabasePing"))
            assert_unavailable(post(server, "Heartbeat", headers=device))  # the device token is in the database
            assert_socket_unavailable(socket, "DatabasePing")

            private_postgres.start()
            works(server, socket, "DatabasePing")

            pids = cluster_pids(private_postgres)
            signal_all(pids, signal.SIGSTOP)
            try:
                assert_unavailable(post(server, "DatabasePing"))
                assert_socket_unavailable(socket, "DatabasePing")
            finally:
                signal_all(pids, signal.SIGCONT)
            works(server, socket, "DatabasePing")
    finally:
        server.stop()
