"""`manage.py status` as an operator runs it: a process of its own, real worker, real broker."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from apps.ops.tests.conftest import PrivateRedis
from catfeeder.testing import BASE_DIR, AsgiServer, CeleryWorker, process_env, wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def status(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "manage.py", "status", *args]
    return subprocess.run(argv, capture_output=True, text=True, env=env, cwd=BASE_DIR, timeout=60, check=False)


def test_status_reports_a_stopped_worker_down_and_exits_2(private_redis: PrivateRedis, process_logs: Path) -> None:
    # A broker of this test's own: the session's worker must not answer for the one we stop.
    env = process_env(REDIS_URL=private_redis.url)
    worker = CeleryWorker(env=env, log_dir=process_logs, broker_url=private_redis.broker_url)
    try:
        running = json.loads(status(env, "--json").stdout)
        [workers, *parts] = running["checks"]["workers:responseTime"]
        assert workers["status"] == "pass"
        assert [p["componentId"] for p in parts] == [worker.hostname]
    finally:
        assert worker.stop() == 0  # warm shutdown

    done = status(env)
    assert done.returncode == 2, done.stdout + done.stderr
    lines = {line.split()[0]: line for line in done.stdout.splitlines() if line.strip()}
    assert lines["workers"].split()[1] == "down"
    assert "no worker answers a ping" in lines["workers"]
    assert f"{worker.hostname}  down" in done.stdout
    assert "stopped at" in done.stdout


def test_status_exits_0_when_every_service_is_well(private_redis: PrivateRedis, process_logs: Path) -> None:
    env = process_env(REDIS_URL=private_redis.url)
    worker = CeleryWorker(env=env, log_dir=process_logs, broker_url=private_redis.broker_url)
    server = AsgiServer(env=env, log_dir=process_logs)  # one registered web instance
    try:
        tick = "import django; django.setup(); from django.utils import timezone; " \
               "from apps.ops.services import beat_tick_record; beat_tick_record(at=timezone.now())"  # fmt: skip
        subprocess.run([sys.executable, "-c", tick], env=env, cwd=BASE_DIR, check=True, timeout=60)
        wait_until(lambda: status(env).returncode == 0, timeout=20, what="status 0")
    finally:
        server.stop()
        worker.stop()
