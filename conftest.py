"""Project-wide fixtures: Redis, a live ASGI server, a Celery worker.

Redis is the embedded server (started once per session in this run's own
directory) unless REDIS_URL points at a real one. Server and worker run as
real subprocesses on the test database, so tests that use them need committed
data: they request `transactional_db` through the fixtures below.

Under pytest-xdist a session is one worker's: each worker has a directory,
database, Redis (or Redis db), server and Celery worker of its own (see
catfeeder/settings/test.py).
"""

from __future__ import annotations

import ipaddress
import os
import random
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from django.conf import settings
from django.test import Client

from apps.accounts.models import User
from apps.accounts.tests.factories import PASSWORD, UserFactory
from apps.infra.embedded_redis import EmbeddedRedis
from apps.ops.readiness import critical_runs, shown_runs
from catfeeder.testing import AsgiServer, CeleryWorker, process_env, redis_db_release

if TYPE_CHECKING:
    from playwright.sync_api import Browser

SUITE_WORKERS = 4  # pytest-xdist workers for a whole-suite run: see pytest_xdist_auto_num_workers


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """How many workers `-n auto` (the default, see pyproject.toml) starts.

    CATFEEDER_TEST_WORKERS when set; one process (no xdist) when the command line names
    tests, so that one file starts at once and --pdb works; else the measured best for
    the whole suite on a 2-CPU machine: most of the time is spent waiting on real
    processes, servers and sleeps, not computing.
    """
    if workers := os.environ.get("CATFEEDER_TEST_WORKERS"):
        return int(workers)
    if config.args_source != pytest.Config.ArgsSource.TESTPATHS:
        return 0
    return SUITE_WORKERS


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Long tests first (longest-first scheduling): none starts alone at the end of a parallel run."""
    items.sort(key=lambda item: item.get_closest_marker("long") is None)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    """Remove the run's directory (see settings/test.py), once the session's fixtures are down."""
    var_dir = Path(settings.VAR_DIR)
    if var_dir.parent == Path(tempfile.gettempdir()) and var_dir.name.startswith("catfeeder-test-"):
        shutil.rmtree(var_dir, ignore_errors=True)


@pytest.fixture(scope="session", autouse=True)
def redis_url() -> Iterator[str]:
    if not settings.EMBEDDED_REDIS:
        yield settings.REDIS_URL
        if settings.TEST_REDIS_CLAIM:  # a database this xdist worker claimed
            redis_db_release(settings.REDIS_URL, *settings.TEST_REDIS_CLAIM)
        return
    server = EmbeddedRedis(settings.VAR_DIR)
    server.start()
    try:
        yield settings.REDIS_URL
    finally:
        server.stop()


@pytest.fixture(autouse=True)
def _fresh_readiness() -> Iterator[None]:
    """No test sees another's readiness run.

    A run kept for a second or two decides whether the API accepts writes; one that ran in a
    background thread while pytest-django blocked database access (between two tests) says
    "database down", and the next test's writes would be refused.
    """
    critical_runs.forget()
    shown_runs.forget()
    yield
    critical_runs.forget()
    shown_runs.forget()


@pytest.fixture(scope="session")
def process_logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("process-logs")


@pytest.fixture(scope="session")
def _asgi_server(django_db_setup: None, django_db_blocker: object, process_logs: Path) -> Iterator[AsgiServer]:
    server = AsgiServer(env=process_env(), log_dir=process_logs)
    yield server
    server.stop()


@pytest.fixture
def asgi_server(_asgi_server: AsgiServer, transactional_db: None) -> AsgiServer:
    """The real ASGI app under uvicorn in a subprocess, on a free port."""
    _asgi_server.check_alive()
    return _asgi_server


@pytest.fixture(scope="session")
def _celery_worker(django_db_setup: None, process_logs: Path) -> Iterator[CeleryWorker]:
    worker = CeleryWorker(env=process_env(), log_dir=process_logs)
    yield worker
    worker.stop()


@pytest.fixture
def celery_worker(_celery_worker: CeleryWorker, transactional_db: None) -> CeleryWorker:
    """A real Celery worker process on the same broker and database."""
    _celery_worker.check_alive()
    return _celery_worker


@pytest.fixture
def server(_web_server: AsgiServer, transactional_db: None) -> AsgiServer:
    """The module's own live server (its `_web_server` fixture, set up once), checked alive for each test."""
    _web_server.check_alive()
    return _web_server


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless, once per test module (Playwright's sync API)."""
    from playwright.sync_api import sync_playwright

    from apps.devreload.tests.harness import launch_chromium

    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()


# -- The cast: alice and bob own things; charlie owns nothing of theirs. ------
@pytest.fixture
def alice(db: None) -> User:
    return UserFactory(email="alice@example.com", name="Alice")


@pytest.fixture
def bob(db: None) -> User:
    return UserFactory(email="bob@example.com", name="Bob")


@pytest.fixture
def charlie(db: None) -> User:
    return UserFactory(email="charlie@example.com", name="Charlie")


@pytest.fixture
def as_alice(alice: User) -> Client:
    """A test client logged in as Alice (a session, as her pages have)."""
    client = Client()
    client.force_login(alice)
    return client


def unique_ip() -> str:
    """A client address of its own: log-ins are rate limited per IP (20 a minute) in the
    real, shared cache, so tests that log in a lot must not all come from 127.0.0.1."""
    return str(ipaddress.IPv4Address("10.0.0.0") + random.randrange(1, 2**24 - 1))  # noqa: S311


def app_token(client: Client, user: User) -> str:
    """Log in as an app does (allauth headless) and return its session token."""
    response = client.post(
        "/_allauth/app/v1/auth/login",
        {"email": user.email, "password": PASSWORD},
        content_type="application/json",
        REMOTE_ADDR=unique_ip(),
    )
    assert response.status_code == 200, response.content
    return str(response.json()["meta"]["session_token"])


@pytest.fixture
def clean_rate_limits() -> None:
    """Forget every rate-limit window: counters live in Redis across tests."""
    from apps.api.ratelimit import _client

    for key in _client().scan_iter("ratelimit:*"):
        _client().delete(key)


# -- Storage: an S3 server on loopback behind the real django-storages backend --
S3_TEST_KEYS = {"access_key": "test-key", "secret_key": "test-secret", "region_name": "us-east-1"}


def s3_storages(endpoint: str, bucket: str, **options: object) -> dict[str, dict[str, object]]:
    """STORAGES with the project's S3 backend on `bucket`, set up as settings/base.py does for S3_* variables."""
    default = {
        "BACKEND": "apps.infra.storage.S3Storage",
        "OPTIONS": {"bucket_name": bucket, "endpoint_url": endpoint, "addressing_style": "path",
                    "checksums": "when_required", "signature_version": "s3v4", "file_overwrite": False,
                    "querystring_expire": 300, **S3_TEST_KEYS, **options},
    }  # fmt: skip
    return {**settings.STORAGES, "default": default}


def s3_bucket_create(endpoint: str) -> str:
    import uuid

    import boto3

    bucket = f"catfeeder-{uuid.uuid4().hex[:12]}"
    keys = {"aws_access_key_id": "test-key", "aws_secret_access_key": "test-secret", "region_name": "us-east-1"}
    boto3.client("s3", endpoint_url=endpoint, **keys).create_bucket(Bucket=bucket)
    return bucket


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    """moto's S3 server on a free loopback port, in a thread of the test process; yields its URL."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_storage(s3_server: str, settings: Any) -> str:
    """The default storage is S3 on a fresh bucket of the loopback server; returns the bucket's name."""
    bucket = s3_bucket_create(s3_server)
    settings.STORAGES = s3_storages(s3_server, bucket)
    return bucket


@pytest.fixture
def media(tmp_path: Path, settings: Any) -> Path:
    """The default storage is the filesystem, in a folder of this test's own."""
    location = tmp_path / "media"
    default = {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(location)}}
    settings.STORAGES = {**settings.STORAGES, "default": default}
    return location


@pytest.fixture
def eager_tasks() -> Iterator[None]:
    """Tasks sent by the code under test run at once, in this process (their after-commit hooks too)."""
    from catfeeder.celery import app

    app.loader.import_default_modules()  # every app's tasks, also those the code sends by name
    before = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager = app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = before
