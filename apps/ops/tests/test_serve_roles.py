"""`manage.py serve --role`: each role starts exactly its part, and refuses the single-host defaults.

The roles run on the suite's PostgreSQL and a Redis database of their own (role_redis, in
conftest); on the embedded defaults there is nothing separate hosts could share, so those tests skip.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import redis
from django.conf import settings

from apps.ops.tests.test_serve import started_pids
from catfeeder.testing import (
    BASE_DIR,
    SERVE_START_TIMEOUT,
    free_port,
    http_ok,
    process_env,
    wait_until,
)

pytestmark = pytest.mark.django_db(transaction=True)

SHARED = not settings.EMBEDDED_REDIS and settings.DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3"
needs_shared = pytest.mark.skipif(not SHARED, reason="roles need PostgreSQL and Redis: set DATABASE_URL and REDIS_URL")


def serve_role(role: str, log: Path, port: int, **env: str) -> subprocess.Popen[bytes]:
    argv = [sys.executable, "manage.py", "serve", "--role", role, "--port", str(port), "--concurrency", "1"]
    full_env = process_env(CATFEEDER_TEST_DIR=tempfile.mkdtemp(prefix="cf-role-"), **env)
    with open(log, "wb") as out:
        return subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=full_env, cwd=BASE_DIR)


def stop(serve: subprocess.Popen[bytes], log: Path) -> str:
    serve.send_signal(signal.SIGTERM)
    try:
        code = serve.wait(timeout=20)
    finally:
        if serve.poll() is None:
            serve.kill()
    output = log.read_text()
    assert code == 0, output
    assert "all stopped" in output
    return output


ROLE_CASES = {
    # role: (the children it starts, a line that shows its part working)
    "web": ({"web1", "web2"}, None),
    "worker": ({"worker"}, "worker answered ping: pong"),
    "beat": ({"beat"}, "beat lock taken"),  # and its jobs reach the broker (below)
    "bridge": ({"homeassistant"}, None),
}


@needs_shared
@pytest.mark.parametrize("role", list(ROLE_CASES))
def test_a_role_starts_exactly_its_children(role: str, role_redis: str, tmp_path: Path) -> None:
    children, working = ROLE_CASES[role]
    log, port = tmp_path / "serve.log", free_port()
    # The bridge starts and keeps retrying an absent broker: enough to see who serve started.
    env = {"REDIS_URL": role_redis, "MQTT_URL": "mqtt://127.0.0.1:1"}
    serve = serve_role(role, log, port, **env)
    try:
        wait_until(
            lambda: set(started_pids(log.read_text())) >= children, timeout=SERVE_START_TIMEOUT, what=f"{role} started"
        )
        if role == "web":
            live = f"http://127.0.0.1:{port}/health/live"
            wait_until(lambda: http_ok(live), timeout=SERVE_START_TIMEOUT, what="web answering")
        if working:
            wait_until(lambda: working in log.read_text(), timeout=60, what=working)
        if role == "beat":  # no worker takes them here: they wait in the default queue
            queue = redis.Redis.from_url(role_redis)
            wait_until(lambda: queue.llen("celery") > 0, timeout=30, what="beat's jobs on the broker")
    finally:
        output = stop(serve, log)
    assert set(started_pids(output)) == children, output
    if role != "web":
        assert not http_ok(f"http://127.0.0.1:{port}/health/live")  # only the web role listens


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"REDIS_URL": ""}, "REDIS_URL (separate hosts cannot share an embedded Redis)"),
        ({"REDIS_URL": "redis://127.0.0.1:6379/0", "DATABASE_URL": ""}, "DATABASE_URL (separate hosts cannot share"),
    ],
)
@pytest.mark.parametrize("role", ["web", "worker", "beat"])
def test_a_role_without_shared_services_refuses_in_one_line(role: str, env: dict[str, str], variable: str) -> None:
    argv = [sys.executable, "manage.py", "serve", "--role", role, "--port", str(free_port())]
    full_env = process_env(CATFEEDER_TEST_DIR=tempfile.mkdtemp(prefix="cf-role-"), **env)
    done = subprocess.run(argv, capture_output=True, text=True, env=full_env, cwd=BASE_DIR, timeout=60, check=False)
    assert done.returncode == 1
    [line] = done.stderr.strip().splitlines()
    assert line.startswith(f"serve --role {role} needs {variable}"), line
    assert "started" not in done.stdout


def test_the_bridge_role_without_mqtt_url_names_it() -> None:
    argv = [sys.executable, "manage.py", "serve", "--role", "bridge"]
    env = process_env(CATFEEDER_TEST_DIR=tempfile.mkdtemp(prefix="cf-role-"), REDIS_URL="", MQTT_URL="")
    done = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=BASE_DIR, timeout=60, check=False)
    assert done.returncode == 1
    assert "MQTT_URL (the broker Home Assistant listens to)" in done.stderr.strip()
