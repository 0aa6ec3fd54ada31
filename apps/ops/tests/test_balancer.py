"""The shipped HAProxy configuration in front of a real `serve --role web`, on one machine.

Only its listening addresses move (to free ports on loopback); the second web host is an
address where nothing listens, so the balancer must leave it out and still answer.
"""

from __future__ import annotations

import asyncio
import http.client
import os
import signal
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import websockets
from websockets.typing import Origin

from apps.ops.tests.test_deploy_files import DEPLOY, HAPROXY, self_signed_pem
from apps.ops.tests.test_serve_roles import needs_shared, serve_role, stop
from catfeeder.testing import BASE_DIR, SERVE_START_TIMEOUT, free_port, http_ok, process_env, wait_until

pytestmark = [
    pytest.mark.django_db(transaction=True),
    needs_shared,
    pytest.mark.skipif(HAPROXY is None, reason="haproxy is not installed (make test installs Debian's package)"),
]

SITE = "localhost"  # in the test settings' ALLOWED_HOSTS: the checks' Host header must pass Django's


def no_verify() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the test's own self-signed certificate
    return context


def get(port: int, path: str, *, tls: bool) -> tuple[int, dict[str, str]]:
    conn: http.client.HTTPConnection
    if tls:
        conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=5, context=no_verify())
    else:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path, headers={"Host": SITE})
        response = conn.getresponse()
        response.read()
        return response.status, dict(response.getheaders())
    except OSError:
        return 0, {}
    finally:
        conn.close()


@pytest.fixture
def balancer(tmp_path: Path) -> Iterator[tuple[int, int, int, Path]]:
    """HAProxy on (http, https) free ports before web1 (the port it returns third) and a dead web2; its log."""
    http_port, https_port, web1, web2 = free_port(), free_port(), free_port(), free_port()
    config = (DEPLOY / "haproxy.cfg").read_text()
    config = config.replace("bind :80\n", f"bind 127.0.0.1:{http_port}\n")
    config = config.replace("bind :443 ", f"bind 127.0.0.1:{https_port} ")
    (tmp_path / "haproxy.cfg").write_text(config)
    env = {
        **os.environ,
        "CATFEEDER_WEB1": f"127.0.0.1:{web1}",
        "CATFEEDER_WEB2": f"127.0.0.1:{web2}",
        "CATFEEDER_SITE": SITE,
        "CATFEEDER_TLS_CERT": str(self_signed_pem(tmp_path / "site.pem", SITE)),
    }
    # -n: fewer connections than the shipped maxconn, whose descriptors a test machine may not allow.
    argv = [str(HAPROXY), "-db", "-n", "2000", "-f", str(tmp_path / "haproxy.cfg")]
    log = tmp_path / "haproxy.log"
    with open(log, "wb") as out:
        proxy = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        yield http_port, https_port, web1, log
    finally:
        proxy.send_signal(signal.SIGTERM)
        try:
            proxy.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proxy.kill()
            proxy.wait()


async def websocket_opens(port: int) -> bool:
    url = f"wss://127.0.0.1:{port}/ws/device/"
    async with websockets.connect(url, ssl=no_verify(), origin=Origin(f"https://{SITE}"), open_timeout=5) as socket:
        return socket.response is not None and socket.response.status_code == 101


def drain_every_instance(redis_url: str) -> str:
    """The admin's "drain and stop: all", from a process on the role's Redis (its channel layer)."""
    code = "import django; django.setup(); from apps.ops.services import web_instances_drain as d; print(d(by='test'))"
    env = process_env(REDIS_URL=redis_url)
    done = subprocess.run([sys.executable, "-c", code], env=env, cwd=BASE_DIR, capture_output=True, text=True,
                          timeout=60, check=True)  # fmt: skip
    return done.stdout.strip()


def test_the_balancer_leaves_out_a_dead_host_and_a_drained_one_and_passes_websockets(
    balancer: tuple[int, int, int, Path], role_redis: str, tmp_path: Path
) -> None:
    http_port, https_port, web1, proxy_log = balancer
    log = tmp_path / "serve.log"
    # Drained instances answer (readiness 503) this long: longer than the balancer's two failed checks.
    env = {"REDIS_URL": role_redis, "DJANGO_SECURE_PROXY_SSL_HEADER": "true", "OPS_DRAIN_GRACE": "5"}
    serve = serve_role("web", log, web1, **env)
    try:
        wait_until(lambda: http_ok(f"http://127.0.0.1:{web1}/health/live"), timeout=SERVE_START_TIMEOUT, what="web")
        # Up once its checks pass (rise 2, every second): then every request is answered, none sent to web2.
        wait_until(lambda: get(https_port, "/health/ready", tls=True)[0] == 200, timeout=30, what="web1 in the pool")
        assert [get(https_port, "/health/ready", tls=True)[0] for _ in range(20)] == [200] * 20

        status, headers = get(http_port, "/api/", tls=False)
        assert status == 301
        assert headers["location"] == f"https://{SITE}/api/"

        assert asyncio.run(websocket_opens(https_port))

        # A drain takes the host out of the pool; serve starts its processes again and it comes back.
        # (It started down: the balancer checked before serve listened.)
        def times(what: str) -> int:
            return proxy_log.read_text().count(f"Server web/web1 is {what}")

        # Out on its readiness (503), while the drained processes still answer: not on a refused connection.
        drained = "DOWN, reason: Layer7 wrong status, code: 503"
        downs, ups = times(drained), times("UP")
        assert drain_every_instance(role_redis) == "2"
        wait_until(lambda: times(drained) > downs, timeout=10, what="web1 out of the pool on its readiness")
        wait_until(lambda: times("UP") > ups, timeout=60, what="web1 back in the pool")
        assert get(https_port, "/health/ready", tls=True)[0] == 200
    finally:
        stop(serve, log)
