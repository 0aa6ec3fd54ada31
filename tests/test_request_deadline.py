"""The response deadline (catfeeder/runtime/request_deadline.py), driven as the server drives it: ASGI calls.

The applications here are small ASGI apps of the test's own that answer
late, early or after a slow body; tests/test_outages.py runs the deadline in
the real server against real outages.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.utils import timezone

from apps.ops.correlation import correlation_scope
from apps.ops.health import CheckResult, Status
from apps.ops.readiness import Run, critical_runs
from catfeeder.runtime.request_deadline import RequestDeadline

Message = dict[str, Any]
DEADLINE = 0.2  # seconds


@pytest.fixture(autouse=True)
def database_up() -> Iterator[None]:
    """A readiness run that just found nothing down (no checks run in the background meanwhile)."""
    critical_runs.run = Run(at=time.monotonic())
    yield
    critical_runs.forget()


def answer_after(seconds: float, *, read_body: bool = False) -> Any:
    async def app(scope: Message, receive: Any, send: Any) -> None:
        if read_body:
            while (await receive()).get("more_body"):
                pass
        await asyncio.sleep(seconds)
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"late" if seconds > DEADLINE else b"ok"})

    return app


def call(app: Any, path: str, *, body_after: float = 0.0, settle: float = 0.0) -> list[Message]:
    """Run one request through the deadline; return what the client was sent."""
    sent: list[Message] = []

    async def receive() -> Message:
        await asyncio.sleep(body_after)  # a client sending its body slowly
        return {"type": "http.request", "body": b"{}", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    async def run() -> None:
        scope = {"type": "http", "method": "POST", "path": path, "headers": []}
        with correlation_scope("deadline-test-0001"):
            await RequestDeadline(app, seconds=DEADLINE)(scope, receive, send)
        await asyncio.sleep(settle)  # the late answer comes meanwhile, and must go nowhere

    asyncio.run(run())
    return sent


def headers(start: Message) -> dict[str, str]:
    return {name.decode(): value.decode() for name, value in start["headers"]}


def test_an_api_answer_not_begun_in_time_is_503_problem_and_the_late_one_is_dropped() -> None:
    sent = call(answer_after(DEADLINE * 3), "/api/feeders", settle=DEADLINE * 4)
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]
    assert sent[0]["status"] == 503
    assert headers(sent[0])["content-type"] == "application/problem+json"
    assert int(headers(sent[0])["retry-after"]) > 0
    problem = json.loads(sent[1]["body"])
    assert problem["type"] == "urn:catfeeder:problem:dependency-unavailable"
    assert problem["correlation_id"] == "deadline-test-0001"


def test_a_page_not_begun_in_time_is_the_styled_503() -> None:
    sent = call(answer_after(DEADLINE * 3), "/pets/")
    assert sent[0]["status"] == 503
    assert headers(sent[0])["content-type"].startswith("text/html")
    assert b"Service Unavailable" in sent[1]["body"]
    assert b"deadline-test-0001" in sent[1]["body"]


def test_an_answer_in_time_passes_untouched() -> None:
    sent = call(answer_after(0), "/api/feeders")
    assert sent[0]["status"] == 200
    assert sent[1]["body"] == b"ok"


def test_waiting_for_the_clients_body_does_not_count() -> None:
    sent = call(answer_after(DEADLINE / 2, read_body=True), "/api/pets", body_after=DEADLINE * 2)
    assert sent[0]["status"] == 200


def test_an_answer_begun_in_time_is_not_cut_however_long_its_body_takes() -> None:
    async def app(scope: Message, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await asyncio.sleep(DEADLINE * 2)
        await send({"type": "http.response.body", "body": b"all of it"})

    sent = call(app, "/api/feeders")
    assert [m.get("status") for m in sent] == [200, None]
    assert sent[1]["body"] == b"all of it"


def test_while_the_database_is_known_down_requests_are_refused_before_they_run() -> None:
    down = CheckResult(name="database", status=Status.DOWN, detail="no answer within 3s", latency_ms=3000,
                       critical=True, kind="datastore", checked_at=timezone.now())  # fmt: skip
    critical_runs.run = Run(results=[down], at=time.monotonic())
    ran: list[str] = []

    async def app(scope: Message, receive: Any, send: Any) -> None:
        ran.append(scope["path"])
        await answer_after(0)(scope, receive, send)

    refused = call(app, "/api/feeders")
    assert refused[0]["status"] == 503
    assert json.loads(refused[1]["body"])["detail"] == "The database is unavailable; try again shortly."
    assert call(app, "/health/live")[0]["status"] == 200  # probes report the outage themselves
    assert ran == ["/health/live"]
