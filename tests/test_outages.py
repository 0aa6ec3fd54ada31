"""A dependency down or hung: every route answers 503 within the deadline, and works once it is back.

Real processes: a PostgreSQL cluster and a redis-server of this module's own
(never the machine's), the real web server on them. Each is stopped, then
hung (SIGSTOP on every one of its processes: the kernel still accepts and
acknowledges, nothing answers), while a REST read, a REST write, log-in,
sign-up, a page and socket handshakes (owner and device) are tried at once. The API routes
must answer 503 problem+json with Retry-After and the correlation id, the
page the styled 503, the handshake close 1013; none may wait past the
deadline (the wait is bounded by the client's timeout, and the times are
printed, not asserted): at once, and again once the readiness checks have
seen the outage. Once the dependency is back, the same requests work.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest
import requests
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from apps.ops.tests.conftest import PrivateRedis
from apps.ops.tests.test_chaos import PG_BIN, PrivatePostgres
from catfeeder.testing import BASE_DIR, AsgiServer, process_env, wait_until
from conftest import unique_ip

pytestmark = [pytest.mark.long, pytest.mark.xdist_group("outages")]  # one private stack, set up once

DEADLINE = 5.0  # seconds: RESPONSE_DEADLINE, the default
CLIENT_TIMEOUT = 30  # seconds: far past the deadline, so that a hang fails the test instead of passing late
PASSWORD = "outage-Tested-9731"  # noqa: S105 - a test account's password
CLOSE_TRY_AGAIN = 1013


@dataclass
class Stack:
    postgres: PrivatePostgres
    redis: PrivateRedis
    broker: PrivateRedis
    server: AsgiServer
    email: str
    token: str
    browser: requests.Session


@dataclass
class Answer:
    what: str
    seconds: float
    status: int  # HTTP status, or the socket's close code (101: open and working)
    headers: dict[str, str]
    body: bytes


def postgres_pids(cluster: PrivatePostgres) -> list[int]:
    """The postmaster and every backend: a hung PostgreSQL is all of them stopped."""
    postmaster = int((cluster.data / "postmaster.pid").read_text().split()[0])
    return [postmaster, *(child.pid for child in psutil.Process(postmaster).children(recursive=True))]


def signal_all(pids: list[int], signum: signal.Signals) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):  # a backend that ended meanwhile
            os.kill(pid, signum)


@pytest.fixture(scope="module")
def stack(process_logs: Path) -> Iterator[Stack]:
    if os.geteuid() != 0 or not (PG_BIN / "initdb").exists():
        pytest.skip("a private PostgreSQL cluster needs root (runuser) and PostgreSQL 15's binaries")
    postgres, redis, broker = PrivatePostgres(), PrivateRedis(), PrivateRedis()
    postgres.init()
    postgres.start()
    redis.start()
    broker.start()
    # Log-ins and sign-ups are rate limited per address: each comes from one of its own (X-Forwarded-For).
    env = process_env(DATABASE_URL=postgres.url, REDIS_URL=redis.url, CELERY_BROKER_URL=broker.broker_url,
                      TRUSTED_PROXY_COUNT="1")  # fmt: skip
    server = None
    try:
        migrate = [sys.executable, "manage.py", "migrate", "--no-input", "-v0"]
        subprocess.run(migrate, env=env, cwd=BASE_DIR, check=True, capture_output=True, timeout=600)
        server = AsgiServer(env=env, log_dir=process_logs)
        email = f"outage-{uuid.uuid4().hex[:8]}@example.com"
        sign_up(server, email)
        verify = f"from apps.accounts.services import user_get_or_create_verified as v; v(email={email!r}, name='O')"
        subprocess.run([sys.executable, "manage.py", "shell", "-c", verify], env=env, cwd=BASE_DIR, check=True,
                       capture_output=True, timeout=120)  # fmt: skip
        token = log_in(server, email).json()["meta"]["session_token"]
        yield Stack(postgres, redis, broker, server, email, token, browser_session(server, email))
    finally:
        if server is not None:
            server.stop()
        redis.stop()
        broker.stop()
        subprocess.run(["runuser", "-u", "postgres", "--", str(PG_BIN / "pg_ctl"), "-D", str(postgres.data),
                        "-m", "immediate", "stop"], capture_output=True, timeout=60, check=False)  # fmt: skip


def sign_up(server: AsgiServer, email: str) -> requests.Response:
    body = {"email": email, "password": PASSWORD}
    url = f"{server.url}/_allauth/app/v1/auth/signup"
    return requests.post(url, json=body, headers=elsewhere(), timeout=CLIENT_TIMEOUT)


def log_in(server: AsgiServer, email: str) -> requests.Response:
    body = {"email": email, "password": PASSWORD}
    url = f"{server.url}/_allauth/app/v1/auth/login"
    return requests.post(url, json=body, headers=elsewhere(), timeout=CLIENT_TIMEOUT)


def elsewhere() -> dict[str, str]:
    return {"X-Forwarded-For": unique_ip()}


def browser_session(server: AsgiServer, email: str) -> requests.Session:
    """Logged in through the log-in page, as a person would be: a session cookie for the pages."""
    browser = requests.Session()
    browser.get(f"{server.url}/accounts/login/", timeout=CLIENT_TIMEOUT)
    form = {"login": email, "password": PASSWORD, "csrfmiddlewaretoken": browser.cookies["csrftoken"]}
    done = browser.post(f"{server.url}/accounts/login/", data=form, timeout=CLIENT_TIMEOUT, allow_redirects=False)
    assert done.status_code == 302, done.text[:500]
    return browser


def timed(what: str, call: Callable[[], tuple[int, dict[str, str], bytes]]) -> Answer:
    started = time.monotonic()
    status, headers, body = call()
    return Answer(what, time.monotonic() - started, status, headers, body)


def http(response: requests.Response) -> tuple[int, dict[str, str], bytes]:
    return response.status_code, {k.lower(): v for k, v in response.headers.items()}, response.content


def handshake(
    stack: Stack, path: str = "/ws/app/", headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    """101 if the socket opens and answers a frame, else the close code it ends with (or the HTTP refusal)."""
    url = f"{stack.server.ws_url}{path}"
    headers = headers if headers is not None else {"X-Session-Token": stack.token}
    try:
        with connect(url, additional_headers=headers, open_timeout=CLIENT_TIMEOUT) as ws:
            try:
                ws.send("{}")  # no type: answered with an Error frame by a working socket
                reply = ws.recv(timeout=CLIENT_TIMEOUT)
            except ConnectionClosed as closed:
                return closed.rcvd.code if closed.rcvd else 1006, {}, b""
            return 101, {}, str(reply).encode()
    except InvalidStatus as refused:
        return refused.response.status_code, {}, refused.response.body or b""


def try_everything(stack: Stack) -> dict[str, Answer]:
    server, api = stack.server, {"X-Session-Token": stack.token}
    calls: dict[str, Callable[[], tuple[int, dict[str, str], bytes]]] = {
        "rest read": lambda: http(requests.get(f"{server.url}/api/feeders", headers=api, timeout=CLIENT_TIMEOUT)),
        "rest write": lambda: http(
            requests.post(f"{server.url}/api/pets", json={"name": "Tom"}, headers=api, timeout=CLIENT_TIMEOUT)
        ),
        "log-in": lambda: http(log_in(server, stack.email)),
        "sign-up": lambda: http(sign_up(server, f"outage-{uuid.uuid4().hex[:8]}@example.com")),
        "page": lambda: http(stack.browser.get(f"{server.url}/", timeout=CLIENT_TIMEOUT, allow_redirects=False)),
        "handshake": lambda: handshake(stack),
        # A device token that is not one: looked up in the database, then refused (403).
        "device handshake": lambda: handshake(stack, "/ws/device/", {"Authorization": "Bearer cfd_nosuch_token"}),
    }
    with ThreadPoolExecutor(len(calls)) as pool:
        futures = {what: pool.submit(timed, what, call) for what, call in calls.items()}
        answers = {what: future.result() for what, future in futures.items()}
    print("  ".join(f"{a.what} {a.status} in {a.seconds:.1f}s" for a in answers.values()))  # noqa: T201
    return answers


# A sign-up answers 401 with the e-mail code pending: the mail is queued, the account made.
WORKING = {"rest read": 200, "rest write": 201, "log-in": 200, "sign-up": 401, "page": 200, "handshake": 101,
           "device handshake": 403}  # fmt: skip
EVERYTHING = frozenset(WORKING)
NOT_DEVICES = EVERYTHING - {"device handshake"}  # a device's token is in the database alone


def assert_unavailable(what: str, answer: Answer) -> None:
    """The documented outage answer: 503 problem+json, the styled page, or close 1013."""
    if what.endswith("handshake"):
        assert answer.status == CLOSE_TRY_AGAIN, answer.body
        return
    assert answer.status == 503, (what, answer.body[:500])
    assert int(answer.headers["retry-after"]) > 0, what
    if what == "page":
        assert answer.headers["content-type"].startswith("text/html")
        assert b"Service Unavailable" in answer.body
        assert answer.headers["x-request-id"].encode() in answer.body
        return
    assert answer.headers["content-type"] == "application/problem+json", what
    problem = json.loads(answer.body)
    assert problem["status"] == 503, what
    assert problem["type"] == "urn:catfeeder:problem:dependency-unavailable", (what, problem)
    assert problem["correlation_id"] == answer.headers["x-request-id"], (what, problem)


def assert_answered(answers: dict[str, Answer], *, unavailable: frozenset[str]) -> None:
    """Those in `unavailable` give the outage answer; the others work, or give it too. Never a 500."""
    for what, answer in answers.items():
        if what in unavailable or answer.status != WORKING[what]:
            assert_unavailable(what, answer)


def assert_working(answers: dict[str, Answer]) -> None:
    got = {what: answer.status for what, answer in answers.items()}
    assert got == WORKING, {what: answers[what].body[:300] for what in got if got[what] != WORKING[what]}


def ready(stack: Stack) -> bool:
    return requests.get(f"{stack.server.url}/health/ready", timeout=CLIENT_TIMEOUT).status_code == 200


def outage(
    stack: Stack,
    *,
    stop: Callable[[], None],
    resume: Callable[[], None],
    at_once_unavailable: frozenset[str] = EVERYTHING,
    later_unavailable: frozenset[str] = EVERYTHING,
) -> None:
    wait_until(lambda: ready(stack), timeout=60, what="ready before", interval=0.5)
    assert_working(try_everything(stack))
    stop()
    try:
        at_once = try_everything(stack)
        # Then once the readiness checks have seen it (the database: refused before taking a thread).
        wait_until(lambda: not ready(stack), timeout=60, what="ready 503", interval=0.5)
        later = try_everything(stack)
    finally:
        resume()
    assert_answered(at_once, unavailable=at_once_unavailable)
    assert_answered(later, unavailable=later_unavailable)
    wait_until(lambda: ready(stack), timeout=60, what="ready after", interval=0.5)
    assert_working(try_everything(stack))


def test_redis_stopped(stack: Stack) -> None:
    outage(stack, stop=stack.redis.stop, resume=stack.redis.start, at_once_unavailable=NOT_DEVICES,
           later_unavailable=NOT_DEVICES)  # fmt: skip


def test_redis_hung(stack: Stack) -> None:
    def pid() -> list[int]:
        assert stack.redis.process is not None
        return [stack.redis.process.pid]

    outage(stack, stop=lambda: signal_all(pid(), signal.SIGSTOP), resume=lambda: signal_all(pid(), signal.SIGCONT),
           at_once_unavailable=NOT_DEVICES, later_unavailable=NOT_DEVICES)  # fmt: skip


# An owner's socket needs no database once its owner is known to the process (a copy of the row,
# apps/accounts/backends.py): it may open, or close with 1013 like everything else.
DATABASE_NEEDED = EVERYTHING - {"handshake"}


def test_postgres_stopped(stack: Stack) -> None:
    outage(stack, stop=stack.postgres.stop, resume=stack.postgres.start, at_once_unavailable=DATABASE_NEEDED,
           later_unavailable=DATABASE_NEEDED)  # fmt: skip


def test_postgres_hung(stack: Stack) -> None:
    pids: list[int] = []

    def stop() -> None:
        pids.extend(postgres_pids(stack.postgres))
        signal_all(pids, signal.SIGSTOP)

    outage(stack, stop=stop, resume=lambda: signal_all(pids, signal.SIGCONT), at_once_unavailable=DATABASE_NEEDED,
           later_unavailable=DATABASE_NEEDED)  # fmt: skip


# Without the broker, reads, log-in, pages and sockets go on; sign-up holds its mail in the
# database (or, broker hung, answers 503 at the deadline: the account exists); API writes are
# refused once the readiness checks have seen it.
WRITES = frozenset({"rest write"})


def test_broker_stopped(stack: Stack) -> None:
    outage(stack, stop=stack.broker.stop, resume=stack.broker.start, at_once_unavailable=frozenset(),
           later_unavailable=WRITES)  # fmt: skip


def test_broker_hung(stack: Stack) -> None:
    def pid() -> list[int]:
        assert stack.broker.process is not None
        return [stack.broker.process.pid]

    outage(stack, stop=lambda: signal_all(pid(), signal.SIGSTOP), resume=lambda: signal_all(pid(), signal.SIGCONT),
           at_once_unavailable=frozenset(), later_unavailable=WRITES)  # fmt: skip
