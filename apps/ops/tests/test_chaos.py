"""Chaos with real processes: a dependency stops for OUTAGE seconds, then comes back.

OUTAGE is the issue's 30 s unless CHAOS_OUTAGE says otherwise (CI runs a shorter
one: each outage still outlasts the time to notice it several times over).

Each test stops only a server it started itself (a private redis-server, a
private PostgreSQL cluster, a loopback SMTP server, an S3 server): never the
machine's shared services. Every wait is bounded.

What must hold, as the issue puts it: readiness turns 503 when a critical
dependency stops, reads keep answering, writes that need it answer 503
problem+json (nothing half-stored) or are queued and done later, nothing
accepted is lost, and everything is green again once the dependency returns.
Storage and mail turn readiness 503 as well (OPS_READY_SHARED=fail, the
default); tests/ops test_health_endpoints covers the "warn" choice.

The issue's figures (503 within 5 s, green within 15 s) are printed, not
asserted: the waits poll up to generous bounds, so that a loaded machine
fails no test by being slow.
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
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from celery import Celery

from apps.accounts.models import User
from apps.ops.tests.conftest import PrivateRedis, StoppableS3, s3_keys
from catfeeder.testing import AsgiServer, CeleryWorker, free_port, process_env, wait_until
from conftest import S3_TEST_KEYS, s3_bucket_create
from tests.support.smtp import SmtpServer
from tests.test_schemathesis import login

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.long]

OUTAGE = float(os.environ.get("CHAOS_OUTAGE", "30"))  # seconds, as the issue asks
RED_BOUND = 30  # seconds to wait for the outage to show (the target: 5)
GREEN_BOUND = 60  # seconds to wait for green once the server is back (the target: 15)
TOKEN = "chaos-token-0123456789abcdef"  # noqa: S105 - a test token
PG_BIN = Path("/usr/lib/postgresql/15/bin")


def call(url: str, *, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, method=method, headers={"Authorization": f"Bearer {TOKEN}"})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()


def ready(server: AsgiServer) -> tuple[int, dict[str, Any]]:
    status, _, body = call(f"{server.url}/health/ready")
    return status, json.loads(body)


def statuses(server: AsgiServer) -> dict[str, str]:
    status, _, body = call(f"{server.url}/health")
    checks = json.loads(body)["checks"]
    return {name.split(":")[0]: entries[0]["status"] for name, entries in checks.items()}


def seconds_until(predicate: Any, *, timeout: float) -> float:
    started = time.monotonic()
    wait_until(predicate, timeout=timeout, what="condition", interval=0.2)
    return time.monotonic() - started


def assert_refused_write(
    status: int, headers: dict[str, str], body: bytes, kind: str = "dependency-unavailable"
) -> None:
    assert status == 503, body
    assert headers["content-type"] == "application/problem+json"
    assert headers["retry-after"]
    problem = json.loads(body)
    assert problem["status"] == 503
    assert problem["type"] == f"urn:catfeeder:problem:{kind}"


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


def task_answer(results: Celery, task_id: str, redis: PrivateRedis) -> Any:
    """A task's answer as the result backend stores it, read afresh (not from this process's cache).

    A stored failure is returned, not raised: AsyncResult.get() would raise the exception the
    worker met, which reads like a connection error of the test itself.
    """
    meta: dict[str, Any] = {}

    def stored() -> bool:
        try:
            meta.update(results.backend.get_task_meta(task_id, cache=False))
        except results.backend.connection_errors:
            redis.running()  # a server that exited fails at once, with its log
            return False
        return meta["status"] in {"SUCCESS", "FAILURE"}

    try:
        wait_until(stored, timeout=GREEN_BOUND, what=f"result of {task_id}", interval=0.2)
    except TimeoutError:
        raise AssertionError(f"task {task_id} accepted, never done ({meta}); redis: {redis.describe()}") from None
    return meta["result"]


def test_redis_stopped_for_an_outage(private_redis: PrivateRedis, process_logs: Path) -> None:
    env = process_env(REDIS_URL=private_redis.url, OPS_TOKEN=TOKEN)
    worker = CeleryWorker(env=env, log_dir=process_logs, broker_url=private_redis.broker_url)
    server = AsgiServer(env=env, log_dir=process_logs)
    backend = private_redis.url.replace("unix://", "redis+socket://")
    # Not the current app: later tests' shared tasks must not resolve to this broker.
    results = Celery("chaos", broker=private_redis.broker_url, backend=backend, set_as_current=False)
    try:
        wait_until(lambda: call(f"{server.url}/health/ready")[0] == 200, timeout=GREEN_BOUND, what="ready")
        before = statuses(server)
        green = {name for name, status in before.items() if status == "pass"}
        assert {"database", "cache", "broker", "channel_layer", "workers"} <= green
        accepted = [json.loads(call(f"{server.url}/api/ops/worker-ping", method="POST")[2])["task_id"]]
        # Done before Redis stops. A task still running then has its answer refused by the
        # outage: Celery's result store gives up after about 20 s and records the connection
        # error as the task's failure instead, a race the loaded machine used to lose.
        assert task_answer(results, accepted[0], private_redis) == "pong"

        private_redis.stop()
        red_after = seconds_until(lambda: call(f"{server.url}/health/ready")[0] == 503, timeout=RED_BOUND)
        refused = ride_out_the_outage(server, reads=["/health/live", "/admin/login/"])

        private_redis.start()  # the same folder: its append-only file brings the queue back
        green_after = seconds_until(
            lambda: {n for n, s in statuses(server).items() if s == "pass"} >= green, timeout=GREEN_BOUND
        )
        status, _, body = call(f"{server.url}/api/ops/worker-ping", method="POST")
        assert status == 202, body
        accepted.append(json.loads(body)["task_id"])
        # Read again after the restart: the append-only file kept the first answer.
        answers = [task_answer(results, task_id, private_redis) for task_id in accepted]
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


def test_postgresql_stopped_for_an_outage(private_postgres: PrivatePostgres, process_logs: Path) -> None:
    # The web server alone on the private cluster; it needs no table to answer health.
    env = process_env(DATABASE_URL=private_postgres.url, OPS_TOKEN=TOKEN)
    server = AsgiServer(env=env, log_dir=process_logs)
    try:
        wait_until(lambda: call(f"{server.url}/health/ready")[0] == 200, timeout=GREEN_BOUND, what="ready")
        private_postgres.stop()
        red_after = seconds_until(lambda: call(f"{server.url}/health/ready")[0] == 503, timeout=RED_BOUND)
        assert "database down" in json.loads(call(f"{server.url}/health/ready")[2])["reasons"]
        refused = ride_out_the_outage(server, reads=["/health/live"])
        private_postgres.start()
        green_after = seconds_until(lambda: call(f"{server.url}/health/ready")[0] == 200, timeout=GREEN_BOUND)
        assert statuses(server)["database"] == "pass"
    finally:
        server.stop()
    print(f"postgres: ready 503 after {red_after:.1f}s; {refused} writes refused; green {green_after:.1f}s after")  # noqa: T201


def shows(server: AsgiServer, service: str, status: str) -> bool:
    """/health has `service` at `status` and /health/ready agrees: 503 naming it when it fails, else 200."""
    code, body = ready(server)
    down = f"{service} down" in body["reasons"]
    return statuses(server)[service] == status and down is (status == "fail") and (code == 503) is down


def test_smtp_stopped_for_an_outage(private_redis: PrivateRedis, process_logs: Path) -> None:
    """Mail always goes through a task: while SMTP is away mails wait in the queue, and all arrive after."""
    from dataclasses import asdict

    from apps.notifications.mail import email_send_task
    from apps.notifications.services import OutgoingEmail

    smtp = SmtpServer()
    smtp.start()
    env = process_env(REDIS_URL=private_redis.url, OPS_TOKEN=TOKEN, EMAIL_URL=smtp.url)
    server = AsgiServer(env=env, log_dir=process_logs)
    worker = CeleryWorker(env=env, log_dir=process_logs, broker_url=private_redis.broker_url)
    # What email_send queues, on the private broker (this process's app speaks to the session's).
    mailer = Celery("chaos-mail", broker=private_redis.broker_url, set_as_current=False)
    address = f"chaos-{uuid.uuid4().hex[:8]}@example.com"

    def send(n: int) -> None:
        email = OutgoingEmail(to=[address], subject=f"chaos {n}", text=f"mail {n}", html=f"<p>{n}</p>")
        mailer.send_task(email_send_task.name, kwargs={"message": asdict(email)})

    try:
        wait_until(lambda: shows(server, "mail", "pass"), timeout=GREEN_BOUND, what="mail green")
        send(0)
        smtp.wait_for(address, count=1, timeout=60)
        smtp.stop()
        red_after = seconds_until(lambda: shows(server, "mail", "fail"), timeout=RED_BOUND)
        deadline, sent = time.monotonic() + OUTAGE, 1
        while time.monotonic() < deadline:
            assert call(f"{server.url}/health/ready")[0] == 503  # out of rotation, yet still answering
            assert call(f"{server.url}/admin/login/")[0] == 200
            send(sent)
            sent += 1
            time.sleep(1)
        smtp.start()
        green_after = seconds_until(lambda: shows(server, "mail", "pass"), timeout=GREEN_BOUND)
        # Retries back off (2 s doubling): the last of them may come a minute after the server.
        delivered = smtp.wait_for(address, count=sent, timeout=180)
    finally:
        server.stop()
        worker.stop()
        smtp.stop()
    assert sorted(str(m["Subject"]) for m in delivered) == sorted(f"chaos {n}" for n in range(sent))  # none lost
    print(f"smtp: mail down after {red_after:.1f}s; {sent - 1} mails queued meanwhile, all delivered; "  # noqa: T201
          f"green {green_after:.1f}s after")  # fmt: skip


def test_s3_stopped_for_an_outage(
    stoppable_s3: StoppableS3, private_redis: PrivateRedis, process_logs: Path, alice: User
) -> None:
    """Uploads answer 503 problem+json meanwhile; reads, signed URLs and every stored photo stand."""
    from apps.feeders.tests import images
    from apps.feeders.tests.factories import PetFactory

    bucket = s3_bucket_create(stoppable_s3.url)
    env = process_env(
        REDIS_URL=private_redis.url, OPS_TOKEN=TOKEN, S3_BUCKET=bucket, S3_ENDPOINT_URL=stoppable_s3.url,
        S3_ACCESS_KEY_ID=S3_TEST_KEYS["access_key"], S3_SECRET_ACCESS_KEY=S3_TEST_KEYS["secret_key"],
    )  # fmt: skip
    # A broker of the test's own: only this worker, on this bucket, makes the thumbnails.
    worker = CeleryWorker(env=env, log_dir=process_logs, broker_url=private_redis.broker_url)
    server = AsgiServer(env=env, log_dir=process_logs)
    pet = PetFactory(owner=alice)
    owner = requests.Session()
    owner.headers["X-Session-Token"] = login(server, alice)

    def upload() -> requests.Response:
        files = {"file": ("tom.jpg", images.jpeg(640, 480), "image/jpeg")}
        return owner.post(f"{server.url}/api/pets/{pet.pk}/photos", files=files, timeout=60)

    def photo(photo_id: int) -> dict[str, Any]:
        response = owner.get(f"{server.url}/api/photos/{photo_id}", timeout=30)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def made(photo_id: int) -> None:
        wait_until(lambda: photo(photo_id)["status"] == "ready", timeout=GREEN_BOUND, what="thumbnails", interval=0.5)

    try:
        wait_until(lambda: shows(server, "storage", "pass"), timeout=GREEN_BOUND, what="storage green")
        created = upload()
        assert created.status_code == 201, created.text
        first = created.json()["id"]
        made(first)

        stoppable_s3.stop()
        red_after = seconds_until(lambda: shows(server, "storage", "fail"), timeout=RED_BOUND)
        deadline, refused = time.monotonic() + OUTAGE, 0
        while time.monotonic() < deadline:
            assert ready(server)[0] == 503  # out of rotation, yet reads still answer
            listed = owner.get(f"{server.url}/api/pets/{pet.pk}/photos", timeout=30)
            assert listed.status_code == 200, listed.text
            assert photo(first)["status"] == "ready"  # signed URLs need no request to the server
            response = upload()
            assert_refused_write(response.status_code, {k.lower(): v for k, v in response.headers.items()},
                                 response.content, kind="storage-unavailable")  # fmt: skip
            refused += 1
            time.sleep(1)

        stoppable_s3.start()
        green_after = seconds_until(lambda: shows(server, "storage", "pass"), timeout=GREEN_BOUND)
        assert owner.get(f"{server.url}/api/pets/{pet.pk}/photos", timeout=30).json()["count"] == 1  # no half rows
        again = upload()
        assert again.status_code == 201, again.text
        made(again.json()["id"])
        shown = [photo(first), photo(again.json()["id"])]
    finally:
        server.stop()
        worker.stop()
    # Nothing lost: every file of both photos is there, and no refused upload left one behind.
    for body in shown:
        for url in [body["url"], *(t["url"] for t in body["thumbnails"])]:
            file = requests.get(url, timeout=30)
            assert file.status_code == 200, url
            images.decode(file.content)
    photo_keys = [key for key in s3_keys(stoppable_s3.url, bucket) if key.startswith("photos/")]
    assert len(photo_keys) == 2 * 3  # an original and two thumbnails each
    print(f"s3: storage down after {red_after:.1f}s; {refused} uploads refused; green {green_after:.1f}s after")  # noqa: T201
