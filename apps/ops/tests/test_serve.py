from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import pytest

from catfeeder.testing import BASE_DIR, SERVE_START_TIMEOUT, free_port, http_ok, process_env, wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def start_serve(port: int, run_dir: str, log: Path) -> subprocess.Popen[bytes]:
    # A run directory and an embedded Redis of its own, even when the suite
    # runs on a real Redis: the session's test worker must not take its tasks.
    env = process_env(CATFEEDER_TEST_DIR=run_dir, REDIS_URL="")
    argv = [sys.executable, "manage.py", "serve", "--port", str(port), "--concurrency", "1"]
    with open(log, "wb") as out:
        return subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=BASE_DIR)


def started_pids(output: str) -> dict[str, list[int]]:
    pids: dict[str, list[int]] = {}
    for name, pid in re.findall(r"started (\w+) \(pid (\d+)\)", output):
        pids.setdefault(name, []).append(int(pid))
    return pids


def test_serve_runs_every_child_restarts_a_dead_one_and_stops_all_on_sigterm(tmp_path: Path) -> None:
    port, log = free_port(), tmp_path / "serve.log"
    run_dir = tempfile.mkdtemp(prefix="cf-serve-")
    serve = start_serve(port, run_dir, log)
    try:
        wait_until(
            lambda: http_ok(f"http://127.0.0.1:{port}/health/live"), timeout=SERVE_START_TIMEOUT, what="web answering"
        )
        wait_until(lambda: "worker answered ping: pong" in log.read_text(), timeout=60, what="worker ping")
        wait_until(lambda: "beat heartbeat at" in log.read_text(), timeout=60, what="beat heartbeat run")

        first = started_pids(log.read_text())
        assert set(first) == {"redis", "worker", "beat", "web1", "web2"}  # WEB_WORKERS: 2
        assert re.search(r"\d+ API operations, \d+ other HTTP routes, \d+ WebSocket routes", log.read_text())
        worker_tree = [first["worker"][0], *(c.pid for c in psutil.Process(first["worker"][0]).children())]

        psutil.Process(first["worker"][0]).kill()
        wait_until(lambda: len(started_pids(log.read_text())["worker"]) == 2, timeout=10, what="worker restart")
        assert "worker exited (SIGKILL); restarting in 1s" in log.read_text()

        every = [pid for pids in started_pids(log.read_text()).values() for pid in pids]
        stop_started = time.monotonic()
        serve.send_signal(signal.SIGTERM)
        code = serve.wait(timeout=20)
        took = time.monotonic() - stop_started
    finally:
        if serve.poll() is None:
            serve.kill()
    output = log.read_text()
    assert code == 0, output
    assert took < 15, output
    assert "all stopped" in output
    for pid in every + worker_tree:
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert not http_ok(f"http://127.0.0.1:{port}/health/live")


def test_serve_on_a_busy_port_says_so_in_one_line_and_fails(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        argv = [sys.executable, "manage.py", "serve", "--port", str(port)]
        env = process_env(CATFEEDER_TEST_DIR=tempfile.mkdtemp(prefix="cf-serve-"), REDIS_URL="")
        done = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=BASE_DIR, timeout=60, check=False)
    assert done.returncode == 1
    assert done.stderr.strip() == f"cannot listen at 127.0.0.1:{port}: address already in use"
    assert "started" not in done.stdout
