"""Drain with real processes: SIGTERM, and the admin's drain through the channel layer.

50 slow requests in flight and 200 open sockets: every request is answered,
every socket gets a close frame (1012 on SIGTERM, 1001 on the admin drain),
and the process exits 0 within 25 s.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from apps.accounts.models import User
from apps.ops.models import AuditEntry
from apps.ops.selectors import web_instances_list
from apps.ops.tests.conftest import PrivateRedis
from catfeeder.testing import BASE_DIR, AsgiServer, process_env, wait_until

pytestmark = pytest.mark.django_db(transaction=True)

IN_FLIGHT = 50
SOCKETS = 200
EXIT_WITHIN = 25  # seconds


def start_server(process_logs: Path) -> AsgiServer:
    return AsgiServer(
        env=process_env(OPS_DRAIN_GRACE="2"),
        log_dir=process_logs,
        app="apps.ops.tests.drain_app:application",
        args=("--timeout-graceful-shutdown", "15"),
    )


async def slow_request(port: int) -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /slow HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    await writer.drain()
    status_line = await asyncio.wait_for(reader.readline(), 30)
    body = await asyncio.wait_for(reader.read(), 30)
    writer.close()
    return int(status_line.split()[1]) if status_line and body.endswith(b"done") else 0


async def close_code(ws: ClientConnection) -> int | None:
    try:
        while True:
            await asyncio.wait_for(ws.recv(), 40)
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else None
    except TimeoutError:
        return None


async def load_then(port: int, stop: object) -> tuple[list[int], list[int | None], float]:
    """Open the sockets, start the slow requests, call `stop`, collect everything."""
    url = f"ws://127.0.0.1:{port}/ws/echo/"
    sockets = []
    for _ in range(SOCKETS // 20):
        sockets += await asyncio.gather(*(connect(url, open_timeout=20) for _ in range(20)))
    await sockets[0].send("hello")
    assert await sockets[0].recv() == "hello"
    requests = [asyncio.create_task(slow_request(port)) for _ in range(IN_FLIGHT)]
    await asyncio.sleep(1.0)  # the requests are in flight: they take 3 s
    stopped_at = time.monotonic()
    await asyncio.to_thread(stop)  # type: ignore[arg-type]
    statuses = await asyncio.gather(*requests)
    codes = await asyncio.gather(*(close_code(ws) for ws in sockets))
    return list(statuses), list(codes), stopped_at


def status_of(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


def wait_exit(server: AsgiServer) -> int:
    return server.popen.wait(EXIT_WITHIN + 5)


def test_sigterm_answers_every_request_closes_every_socket_and_exits_0(process_logs: Path) -> None:
    server = start_server(process_logs)
    try:
        statuses, codes, stopped_at = asyncio.run(
            load_then(server.port, lambda: server.popen.send_signal(signal.SIGTERM))
        )
        code = wait_exit(server)
        took = time.monotonic() - stopped_at
    finally:
        server.stop()
    assert statuses == [200] * IN_FLIGHT, server.output()
    assert set(codes) <= {1001, 1012}, codes
    assert len(codes) == SOCKETS
    assert code == 0, server.output()
    assert took < EXIT_WITHIN
    print(f"SIGTERM drain: exit 0 after {took:.1f}s; close codes {sorted(set(codes))}")  # noqa: T201


def test_the_admin_drain_turns_ready_503_closes_sockets_with_1001_and_exits_0(
    process_logs: Path, superuser: User
) -> None:
    from django.test import Client

    server = start_server(process_logs)
    admin = Client()
    admin.force_login(superuser)
    try:
        instance = registered_instance(server.popen.pid)
        ready_503_after: list[float] = []

        def drain() -> None:
            sent = time.monotonic()
            response = admin.post("/admin/ops/servicestatus/controls/web-drain/", {"target": instance["id"]})
            assert response.status_code == 302
            wait_until(lambda: status_of(f"{server.url}/health/ready") == 503, timeout=30, what="ready 503",
                       interval=0.02)  # fmt: skip
            ready_503_after.append(time.monotonic() - sent)

        statuses, codes, stopped_at = asyncio.run(load_then(server.port, drain))
        code = wait_exit(server)
        took = time.monotonic() - stopped_at
    finally:
        server.stop()
    assert statuses == [200] * IN_FLIGHT, server.output()
    assert codes == [1001] * SOCKETS, sorted(set(map(str, codes)))
    assert code == 0, server.output()
    assert took < EXIT_WITHIN
    entry = AuditEntry.objects.get(action="web-drain")
    assert (entry.actor_label, entry.target, entry.result) == ("root@example.com", instance["id"], "ok")
    [after] = [i for i in web_instances_list() if i["id"] == instance["id"]]
    assert after["state"] == "stopped"
    print(f"admin drain: ready 503 after {ready_503_after[0]:.2f}s, exit 0 after {took:.1f}s")  # noqa: T201


def test_draining_all_reaches_every_instance_through_the_group(process_logs: Path, private_redis: PrivateRedis) -> None:
    # A Redis of the test's own, and the drain sent from a process on it: "all" must
    # not reach the session's shared server, nor this process's channel layer change.
    env = process_env(REDIS_URL=private_redis.url)
    servers = [AsgiServer(env=env, log_dir=process_logs) for _ in range(2)]
    try:
        pids = {s.popen.pid for s in servers}
        listening = "import django; django.setup(); from apps.ops.selectors import web_instances_list as w; " \
                    "print(sorted(i['pid'] for i in w() if i['channel']))"  # fmt: skip
        wait_until(lambda: str(sorted(pids)) in run_python(env, listening), timeout=15, what="both listening")
        drain = "import django; django.setup(); from apps.ops.services import web_instances_drain as d; " \
                "print(d(by='test'))"  # fmt: skip
        assert run_python(env, drain).strip() == "2"
        codes = [server.popen.wait(EXIT_WITHIN) for server in servers]
    finally:
        for server in servers:
            server.stop()
    assert codes == [0, 0]


def run_python(env: dict[str, str], code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], env=env, cwd=BASE_DIR, capture_output=True, text=True,
                          timeout=60, check=True)  # fmt: skip
    return done.stdout


def test_a_request_that_arrives_during_a_drain_gets_503_at_once(process_logs: Path, superuser: User) -> None:
    from django.test import Client

    server = AsgiServer(env=process_env(OPS_DRAIN_GRACE="5"), log_dir=process_logs)
    admin = Client()
    admin.force_login(superuser)
    try:
        instance = registered_instance(server.popen.pid)
        admin.post("/admin/ops/servicestatus/controls/web-drain/", {"target": instance["id"]})
        wait_until(lambda: status_of(f"{server.url}/health/ready") == 503, timeout=30, what="ready 503")
        try:
            urllib.request.urlopen(f"{server.url}/api/openapi.json", timeout=5)  # noqa: S310 - loopback
            refused = None
        except urllib.error.HTTPError as error:
            refused = error
        live = status_of(f"{server.url}/health/live")
        code = wait_exit(server)
    finally:
        server.stop()
    assert refused is not None
    assert refused.code == 503
    assert refused.headers["Content-Type"] == "application/problem+json"
    assert refused.headers["Retry-After"] == "1"
    assert refused.headers["Connection"] == "close"
    assert refused.headers["X-Request-ID"]
    assert live == 200  # probes still answer: readiness says why
    assert code == 0


def registered_instance(pid: int) -> dict[str, Any]:
    """The registry's entry of the web process `pid`, once it listens for controls."""
    wait_until(lambda: any(i["pid"] == pid and i["channel"] for i in web_instances_list()),
               timeout=15, what="instance registered")  # fmt: skip
    [instance] = [i for i in web_instances_list() if i["pid"] == pid]
    return instance
