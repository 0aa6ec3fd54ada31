"""`/metrics` under `manage.py serve`: two web processes and a worker count into one directory."""

from __future__ import annotations

import signal
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from apps.ops.tests.test_serve import started_pids
from catfeeder.testing import BASE_DIR, SERVE_START_TIMEOUT, free_port, http_ok, process_env, wait_until

pytestmark = pytest.mark.django_db(transaction=True)

TOKEN = "metrics-test-token"  # noqa: S105 - a test value
MISSING = "/no-such-page-for-metrics"  # answers 404: no other request of the run has that status


def start_serve(port: int, log: Path) -> subprocess.Popen[bytes]:
    # A run directory and an embedded Redis of its own, as in test_serve.
    env = process_env(CATFEEDER_TEST_DIR=tempfile.mkdtemp(prefix="cf-metrics-"), REDIS_URL="", OPS_TOKEN=TOKEN)
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)  # serve makes its own
    argv = [sys.executable, "manage.py", "serve", "--port", str(port), "--concurrency", "1", "--web-workers", "2"]
    with open(log, "wb") as out:
        return subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=BASE_DIR)


def samples(base: str, name: str) -> list[tuple[dict[str, str], float]]:
    request = urllib.request.Request(f"{base}/metrics", headers={"Authorization": f"Bearer {TOKEN}"})  # noqa: S310
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback URL built here
        text = response.read().decode()
    return [(s.labels, s.value) for f in text_string_to_metric_families(text) for s in f.samples if s.name == name]


def not_found_by_instance(base: str) -> dict[str, float]:
    counts: dict[str, float] = {}
    for labels, value in samples(base, "catfeeder_http_requests_total"):
        if labels["status"] == "404":
            counts[labels["instance"]] = counts.get(labels["instance"], 0) + value
    return counts


def get_missing(base: str) -> int:
    try:
        with urllib.request.urlopen(f"{base}{MISSING}", timeout=30) as response:  # noqa: S310 - loopback URL
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def test_serve_adds_up_the_counts_of_both_web_processes_and_the_worker(tmp_path: Path) -> None:
    port, log = free_port(), tmp_path / "serve.log"
    base = f"http://127.0.0.1:{port}"
    serve = start_serve(port, log)
    sent = 0
    try:
        wait_until(lambda: http_ok(f"{base}/health/live"), timeout=SERVE_START_TIMEOUT, what="web answering")
        # Each web process listens on a socket of its own and the kernel spreads new
        # connections over them by address: send batches until both have answered some.
        with ThreadPoolExecutor(max_workers=8) as pool:
            for _ in range(50):
                statuses = list(pool.map(lambda _: get_missing(base), range(40)))
                assert set(statuses) == {404}
                sent += len(statuses)
                if len(not_found_by_instance(base)) == 2:
                    break
        wait_until(lambda: sum(not_found_by_instance(base).values()) == sent, timeout=10, what="every request counted")
        by_instance = not_found_by_instance(base)
        pids = started_pids(log.read_text())
        # Both web processes answered, and any one scrape reports both: the total is the sum.
        assert {int(instance.split(":")[1]) for instance in by_instance} == {pids["web1"][0], pids["web2"][0]}
        assert all(count > 0 for count in by_instance.values())
        assert sum(by_instance.values()) == sent
        # The worker's pool process counts the periodic tasks it runs into the same directory.
        wait_until(
            lambda: any(labels["state"] == "SUCCESS" for labels, _ in samples(base, "catfeeder_celery_tasks_total")),
            timeout=60,
            what="a task counted",
        )
        serve.send_signal(signal.SIGTERM)
        assert serve.wait(timeout=20) == 0, log.read_text()
    finally:
        if serve.poll() is None:
            serve.kill()
    assert "all stopped" in log.read_text()
