"""Real processes for tests and benchmarks: an ASGI server, a Celery worker.

Each runs as a subprocess with the test settings, the test database (passed
as DATABASE_URL) and the same Redis, and writes its output to a log file that
is shown when it fails to start. Also: claiming a Redis database of a run's own
on a shared server (CI runs, pytest-xdist workers).
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from django.db import connection

BASE_DIR = Path(__file__).resolve().parent.parent


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default


# Ports are taken below the kernel's ephemeral range: a port there that is free now can be given
# to any outgoing connection (a client of Redis or PostgreSQL) before the server that was told
# of it binds. Each pytest-xdist worker has a slice of its own, and a process never hands out a
# port twice, so two servers starting at once are never told the same port.
_PORTS_LOW = 10_000
_handed_out: set[int] = set()


def free_port() -> int:
    high = _ephemeral_low()
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    index = int(worker) if worker.isdigit() else 0
    workers = max(int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1") or 1), index + 1)
    size = (high - _PORTS_LOW) // workers
    low = _PORTS_LOW + index * size
    start = random.randrange(size)  # noqa: S311 - spreading, not secrecy
    for step in range(size):
        port = low + (start + step) % size
        if port in _handed_out:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    raise RuntimeError(f"no free port in {low}-{low + size - 1}")


def database_url(settings_dict: dict[str, Any] | None = None) -> str:
    """The URL of a Django database, by default the one tests use now."""
    db = settings_dict or connection.settings_dict
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{db['NAME']}"
    user = quote(db.get("USER") or "", safe="")
    password = f":{quote(db['PASSWORD'], safe='')}" if db.get("PASSWORD") else ""
    auth = f"{user}{password}@" if user else ""
    host = db.get("HOST") or "localhost"
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{auth}{host}{port}/{db['NAME']}"


def process_env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "DATABASE_URL": database_url()}
    env.setdefault("DJANGO_SETTINGS_MODULE", "catfeeder.settings.test")
    env.update(extra)
    return env


REDIS_CLAIM_KEY = "catfeeder:ci:claim"
REDIS_CLAIM_TTL = 3 * 3600  # seconds: longer than a run may last
REDIS_DATABASES = range(1, 16)  # database 0 is left for development


def redis_url_with_db(url: str, db: int) -> str:
    """The same Redis server, another database (in the path, or the query of a unix socket URL)."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        query = urlencode({**dict(parse_qsl(parts.query)), "db": str(db)})
        return f"unix://{parts.path}?{query}"
    return urlunsplit(parts._replace(path=f"/{db}"))


def redis_db_claim(url: str, run: str) -> int:
    """Claim an empty database of the Redis server at `url` for `run`; returns its number.

    Only an empty database is claimed, and only when our SET NX wins: two runs never share one.
    """
    import redis

    for db in REDIS_DATABASES:
        client = redis.Redis.from_url(redis_url_with_db(url, db))
        if client.dbsize() == 0 and client.set(REDIS_CLAIM_KEY, run, nx=True, ex=REDIS_CLAIM_TTL):
            return db
    raise RuntimeError(f"no empty Redis database ({REDIS_DATABASES.start}-{REDIS_DATABASES.stop - 1}) is free")


def redis_db_release(url: str, run: str, db: int) -> None:
    """Empty database `db` if `run` still holds it."""
    import redis

    client = redis.Redis.from_url(redis_url_with_db(url, db))
    if client.get(REDIS_CLAIM_KEY) == run.encode():
        client.flushdb()


# How long a test waits for a `manage.py serve` it started to answer. Its children import
# Django and start an embedded Redis; on a busy CI machine that has taken more than 30 s.
SERVE_START_TIMEOUT = 90  # seconds


def wait_until(predicate: Callable[[], bool], *, timeout: float, what: str, interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not happen within {timeout}s")
        time.sleep(interval)


def api_schema(base_url: str, *, timeout: float = SERVE_START_TIMEOUT) -> bytes:
    """/api/openapi.json, asked again while it answers 503.

    A web process builds the document once, on its first request; on a busy machine that
    takes longer than RESPONSE_DEADLINE, whose 503 the first asker gets while the build
    goes on. A client that honours Retry-After then has it, as this does.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"{base_url}/api/openapi.json", timeout=timeout) as response:  # noqa: S310
                return bytes(response.read())
        except urllib.error.HTTPError as error:
            if error.code != 503 or time.monotonic() > deadline:
                raise
            time.sleep(float(error.headers.get("Retry-After") or 1))


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 - loopback URL built here
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


class Process:
    """A subprocess whose output goes to a log file, stopped with SIGTERM."""

    def __init__(self, name: str, argv: list[str], *, env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.log = log_dir / f"{name}-{os.getpid()}-{time.monotonic_ns()}.log"
        with open(self.log, "wb") as out:
            self.popen = subprocess.Popen(
                argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, cwd=BASE_DIR
            )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def check_alive(self) -> bool:
        if self.popen.poll() is not None:
            raise RuntimeError(f"{self.name} exited with {self.popen.returncode}:\n{self.output()}")
        return True

    def stop(self, timeout: float = 15) -> int:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        return self.popen.returncode


START_BOUND = 60  # seconds for a server to import Django and answer, in a full parallel run on 2 CPUs


class AsgiServer(Process):
    """The real ASGI application under uvicorn, as production serves it (through catfeeder.runtime.webserver)."""

    def __init__(
        self,
        *,
        env: dict[str, str],
        log_dir: Path,
        port: int | None = None,
        app: str = "catfeeder.asgi:application",
        args: tuple[str, ...] = (),
    ) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}"
        argv = [sys.executable, "-m", "catfeeder.runtime.webserver", "--app", app, "--port", str(self.port), *args]
        super().__init__("asgi", [*argv, "--log-level", "warning"], env=env, log_dir=log_dir)
        try:
            wait_until(
                lambda: self.check_alive() and http_ok(f"{self.url}/health/live"), timeout=START_BOUND, what="server"
            )
        except TimeoutError:
            self.stop()
            raise TimeoutError(f"the ASGI server did not answer:\n{self.output()}") from None


class CeleryWorker(Process):
    """A real Celery worker on the test broker, ready once it answers a ping."""

    def __init__(
        self,
        *,
        env: dict[str, str],
        log_dir: Path,
        queues: list[str] | None = None,
        broker_url: str | None = None,
        args: tuple[str, ...] = (),
    ) -> None:
        from celery import Celery

        from catfeeder.celery import app

        # control.ping publishes through its app's producer pool, whatever connection it is
        # given: a broker of the test's own needs an app of its own.
        pinger = app if broker_url is None else Celery("pinger", broker=broker_url, set_as_current=False)

        self.hostname = f"test-{os.getpid()}-{time.monotonic_ns()}@localhost"
        argv = [sys.executable, "-m", "celery", "-A", "catfeeder", "worker", "--hostname", self.hostname]
        argv += ["--concurrency", "1", "--loglevel", "INFO", "--without-gossip", "--without-mingle"]
        if queues:  # a worker of a test's own, which the shared worker's tasks never reach
            argv += ["--queues", ",".join(queues)]
        super().__init__("worker", [*argv, *args], env=env, log_dir=log_dir)

        def answers() -> bool:
            self.check_alive()
            return bool(pinger.control.ping(destination=[self.hostname], timeout=0.5))

        try:
            wait_until(answers, timeout=60, what="worker ping")
        except TimeoutError:
            self.stop()
            raise TimeoutError(f"the Celery worker did not answer:\n{self.output()}") from None


class CeleryBeat(Process):
    """A real beat process (the project's scheduler: DatabaseScheduler behind the beat lock)."""

    def __init__(self, *, env: dict[str, str], log_dir: Path) -> None:
        schedule = log_dir / f"beat-{os.getpid()}-{time.monotonic_ns()}"  # unused by DatabaseScheduler
        argv = [sys.executable, "-m", "celery", "-A", "catfeeder", "beat", "--loglevel", "INFO", "-s", str(schedule)]
        super().__init__("beat", argv, env=env, log_dir=log_dir)

    def holds_lock(self) -> bool:
        return "beat lock taken" in self.output()
