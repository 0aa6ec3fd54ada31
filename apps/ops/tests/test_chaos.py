"""Chaos with real processes: a dependency stops for OUTAGE seconds, then comes back.

Each test stops only a server it started itself (a private redis-server, a
private PostgreSQL cluster, a loopback SMTP server, a storage folder): never
the machine's shared services. Every wait is bounded.

What must hold, as the issue puts it: readiness turns 503 within 5 s of a
critical dependency stopping, reads keep answering, writes that need the
queue answer 503 problem+json (nothing half-stored), nothing accepted is
lost, and everything is green within 15 s of the dependency returning.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from celery import Celery

from apps.ops.tests.conftest import PrivateRedis
from catfeeder.testing import AsgiServer, CeleryWorker, free_port, process_env, wait_until

pytestmark = pytest.mark.django_db(transaction=True)

OUTAGE = 30  # seconds, as the issue asks
TURN_RED_WITHIN = 5  # seconds
GREEN_AGAIN_WITHIN = 15  # seconds
TOKEN = "chaos-token-0123456789abcdef"  # noqa: S105 - a test token
PG_BIN = Path("/usr/lib/postgresql/15/bin")


def call(url: str, *, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, method=method, headers={"Authorization": f"Bearer {TOKEN}"})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()


def statuses(server: AsgiServer) -> dict[str, str]:
    status, _, body = call(f"{server.url}/health")
    checks = json.loads(body)["checks"]
    return {name.split(":")[0]: entries[0]["status"] for name, entries in checks.items()}


def seconds_until(predicate: Any, *, timeout: float) -> float:
    started = time.monotonic()
    wait_until(predicate, timeout=timeout, what="condition", interval=0.2)
    return time.monotonic() - started


def assert_refused_write(status: int, headers: dict[str, str], body: bytes) -> None:
    assert status == 503, body
    assert headers["content-type"] == "application/problem+json"
    assert headers["retry-after"]
    problem = json.loads(body)
    assert problem["status"] == 503
    assert problem["type"] == "urn:catfeeder:problem:dependency-unavailable"


def ride_out_the_outage(server: AsgiServer, *, reads: list[str]) -> int:
    """For OUTAGE seconds: reads answer 200, queue writes answer 503 problem+json. Returns the writes tried."""
    deadline = time.monotonic() + OUTAGE
    writes = 0
    while time.monotonic() < deadline:
        for path in reads:
            status, _, body = call(f"{server.url}{path}")
            assert status == 200, (path, body[:300])
        assert_refused_write(*call(f"{server.url}/api/ops/worker-ping", method="POST"))
        writes += 1
        time.sleep(1)
    return writes


def test_redis_stopped_for_30s(private_redis: PrivateRedis, process_logs: Path) -> None:
    env = process_env(REDIS_URL=private_redis.url, OPS_TOKEN=TOKEN)
    worker = CeleryWorker(env=env, log_dir=process_logs, broker_url=private_redis.broker_url)
    server = AsgiServer(env=env, log_dir=process_logs)
    backend = private_redis.url.replace("unix://", "redis+socket://")
    # Not the current app: later tests' shared tasks must not resolve to this broker.
    results = Celery("chaos", broker=private_redis.broker_url, backend=backend, set_as_current=False)
    try:
        wait_until(lambda: call(f"{server.url}/health/ready")[0] == 200, timeout=15, what="ready")
        before = statuses(server)
        green = {name for name, status in before.items() if status == "pass"}
        assert {"database", "cache", "broker", "channel_layer", "workers"} <= green
        accepted = [json.loads(call(f"{server.url}/api/ops/worker-ping", method="POST")[2])["task_id"]]

        private_redis.stop()
        red_after = seconds_until(lambda: call(f"{server.url}/health/ready")[0] == 503, timeout=TURN_RED_WITHIN)
        refused = ride_out_the_outage(server, reads=["/health/live", "/admin/login/"])

        private_redis.start()  # the same folder: its append-only file brings the queue back
        green_after = seconds_until(
            lambda: {n for n, s in statuses(server).items() if s == "pass"} >= green, timeout=GREEN_AGAIN_WITHIN
        )
        status, _, body = call(f"{server.url}/api/ops/worker-ping", method="POST")
        assert status == 202, body
        accepted.append(json.loads(body)["task_id"])
        answers = [results.AsyncResult(task_id).get(timeout=20) for task_id in accepted]
    finally:
        server.stop()
        worker.stop()
    assert answers == ["pong", "pong"]  # nothing accepted was lost
    print(f"redis: ready 503 after {red_after:.1f}s; {refused} writes refused; green {green_after:.1f}s after")  # noqa: T201


class PrivatePostgres:
    """A PostgreSQL cluster of the test's own (initdb in a temp folder, run as the postgres user)."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="cf-pg-"))
        self.data = self.dir / "data"
        self.port = free_port()
        shutil.chown(self.dir, "postgres", "postgres")
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def _as_postgres(self, *argv: str) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", *argv], check=True, capture_output=True, timeout=120)

    def init(self) -> None:
        self._as_postgres(str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-o", options, "-l",
                          str(self.dir / "log"), "-w", "start")  # fmt: skip

    def stop(self) -> None:
        self._as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    if os.geteuid() != 0 or not (PG_BIN / "initdb").exists() or shutil.which("runuser") is None:
        pytest.skip("a private PostgreSQL cluster needs root (runuser) and PostgreSQL 15's binaries")
    cluster = PrivatePostgres()
    cluster.init()
    cluster.start()
    yield cluster
    subprocess.run(["runuser", "-u", "postgres", "--", str(PG_BIN / "pg_ctl"), "-D", str(cluster.data),
                    "-m", "immediate", "stop"], capture_output=True, timeout=60, check=False)  # fmt: skip
    shutil.rmtree(cluster.dir, ignore_errors=True)


def test_postgresql_stopped_for_30s(private_postgres: PrivatePostgres, process_logs: Path) -> None:
    # The web server alone on the private cluster; it needs no table to answer health.
    env = process_env(DATABASE_URL=private_postgres.url, OPS_TOKEN=TOKEN)
    server = AsgiServer(env=env, log_dir=process_logs)
    try:
        wait_until(lambda: call(f"{server.url}/health/ready")[0] == 200, timeout=15, what="ready")
        private_postgres.stop()
        red_after = seconds_until(lambda: call(f"{server.url}/health/ready")[0] == 503, timeout=TURN_RED_WITHIN)
        assert "database down" in json.loads(call(f"{server.url}/health/ready")[2])["reasons"]
        refused = ride_out_the_outage(server, reads=["/health/live"])
        private_postgres.start()
        green_after = seconds_until(lambda: call(f"{server.url}/health/ready")[0] == 200, timeout=GREEN_AGAIN_WITHIN)
        assert statuses(server)["database"] == "pass"
    finally:
        server.stop()
    print(f"postgres: ready 503 after {red_after:.1f}s; {refused} writes refused; green {green_after:.1f}s after")  # noqa: T201


def test_smtp_and_storage_stopped_for_30s(process_logs: Path, tmp_path: Path) -> None:
    """Neither decides readiness (mail always goes through a task; reads need no storage): both turn red and back."""
    import logging

    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Sink
    from django.conf import settings

    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd narrates every connection

    smtp_port = free_port()
    smtp = Controller(Sink(), hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    var_dir = Path(tempfile.mkdtemp(prefix="cf-st-"))
    media = var_dir / "media"
    env = process_env(
        CATFEEDER_TEST_DIR=str(var_dir), REDIS_URL=settings.REDIS_URL, OPS_TOKEN=TOKEN,
        EMAIL_URL=f"smtp://127.0.0.1:{smtp_port}", LOG_DIR=str(tmp_path),
    )  # fmt: skip
    server = AsgiServer(env=env, log_dir=process_logs)
    try:
        wait_until(lambda: statuses(server)["mail"] == "pass" and statuses(server)["storage"] == "pass",
                   timeout=15, what="mail and storage green")  # fmt: skip
        smtp.stop()
        shutil.rmtree(media)
        media.write_text("not a folder: nothing can be stored under it")
        red_after = seconds_until(
            lambda: statuses(server)["mail"] == "fail" and statuses(server)["storage"] == "fail",
            timeout=TURN_RED_WITHIN,
        )
        deadline = time.monotonic() + OUTAGE
        while time.monotonic() < deadline:
            assert call(f"{server.url}/health/ready")[0] == 200  # not critical: the instance stays in service
            time.sleep(1)
        smtp = Controller(Sink(), hostname="127.0.0.1", port=smtp_port)
        smtp.start()
        media.unlink()
        green_after = seconds_until(
            lambda: statuses(server)["mail"] == "pass" and statuses(server)["storage"] == "pass",
            timeout=GREEN_AGAIN_WITHIN,
        )
    finally:
        server.stop()
        smtp.stop()
        shutil.rmtree(var_dir, ignore_errors=True)
    print(f"smtp + storage: red after {red_after:.1f}s; green {green_after:.1f}s after")  # noqa: T201
