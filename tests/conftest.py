"""Real peers: an SMTP server and a mail worker, an OIDC provider, a Redis of the test's own."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pytest_django.fixtures import Settings

from catfeeder.testing import CeleryWorker, process_env
from tests.support.oidc import OidcProvider
from tests.support.smtp import SmtpServer
from tests.support.tcp_redis import TcpRedis


@dataclass
class Mail:
    smtp: SmtpServer
    worker: CeleryWorker


@pytest.fixture(scope="session")
def _mail(django_db_setup: None, process_logs: Path) -> Iterator[tuple[SmtpServer, CeleryWorker, str]]:
    smtp = SmtpServer()
    smtp.start()
    queue = f"mail-{uuid.uuid4().hex[:8]}"
    worker = CeleryWorker(env=process_env(EMAIL_URL=smtp.url), log_dir=process_logs, queues=[queue])
    yield smtp, worker, queue
    worker.stop()
    smtp.stop()


@pytest.fixture
def mail(_mail: tuple[SmtpServer, CeleryWorker, str], transactional_db: None, settings: Settings) -> Mail:
    """Mail really sent: the worker of this fixture delivers to a loopback SMTP server."""
    smtp, worker, queue = _mail
    worker.check_alive()
    if smtp.controller is None:  # a test stopped it
        smtp.start()
    settings.EMAIL_QUEUE = queue
    return Mail(smtp=smtp, worker=worker)


OIDC_CLIENT = {"client_id": "catfeeder-test", "client_secret": "s3cret-for-tests"}
OIDC_PROVIDER_ID = "testidp"
OIDC_USERS: list[dict[str, Any]] = [
    {
        "sub": "u-olivia",
        "email": "olivia@example.com",
        "email_verified": True,
        "name": "Olivia",
        "password": "pw-olivia",
    },
    {"sub": "u-alice", "email": "alice@example.com", "email_verified": True, "name": "Alice", "password": "pw-alice"},
    {"sub": "u-bob", "email": "bob@example.com", "email_verified": True, "name": "Bob", "password": "pw-bob"},
    {"sub": "u-fake-alice", "email": "ALICE@example.com", "email_verified": False, "name": "?", "password": "pw-fake"},
]


@pytest.fixture(scope="session")
def oidc_provider(process_logs: Path) -> Iterator[OidcProvider]:
    callback = f"http://testserver/accounts/oidc/{OIDC_PROVIDER_ID}/login/callback/"
    config = {"clients": [{**OIDC_CLIENT, "redirect_uris": [callback]}], "users": OIDC_USERS}
    provider = OidcProvider(config=config, env=process_env(), log_dir=process_logs)
    yield provider
    provider.stop()


@pytest.fixture
def tcp_redis() -> Iterator[TcpRedis]:
    """A redis-server of the test's own on a free TCP port, to stop, hang or restart."""
    server = TcpRedis()
    server.start()
    yield server
    server.stop()
