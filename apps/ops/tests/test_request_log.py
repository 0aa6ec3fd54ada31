"""The web process's line per request: method, path, status, duration, correlation id, route and caller."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
import requests
from django.conf import settings
from django.utils import timezone

from apps.accounts.models import User
from apps.feeders.services import devices as device_services
from apps.feeders.tests.factories import FeederFactory, PetFactory, owner_of
from catfeeder.runtime.logs import LogRecord, logs_read
from catfeeder.testing import AsgiServer, wait_until
from tests.test_schemathesis import login

pytestmark = pytest.mark.django_db(transaction=True)


def request_line(correlation_id: str) -> LogRecord:
    """The web process's line for the request with this id (the server writes it once the answer is sent)."""
    found: list[LogRecord] = []

    def written() -> bool:
        since = timezone.now() - timedelta(minutes=5)
        records = logs_read(log_dir=settings.LOG_DIR, since=since, count=0, process="web")
        found[:] = [r for r in records if r.fields.get("correlation_id") == correlation_id
                    and r.fields.get("logger") == "apps.ops.web"]  # fmt: skip
        return bool(found)

    wait_until(written, timeout=30, what=f"the request line of {correlation_id}", interval=0.2)
    [line] = found
    return line


def call(server: AsgiServer, method: str, path: str, **headers: str) -> tuple[str, int]:
    correlation_id = f"log-{uuid.uuid4().hex[:16]}"
    body: Any = {} if method == "POST" else None
    response = requests.request(method, f"{server.url}{path}", json=body, timeout=30,
                                headers={"X-Request-ID": correlation_id, **headers})  # fmt: skip
    return correlation_id, response.status_code


def test_an_owners_api_call_is_logged_with_its_route_and_user_id(asgi_server: AsgiServer, alice: User) -> None:
    pet = PetFactory(owner=alice)
    correlation_id, status = call(
        asgi_server, "GET", f"/api/pets/{pet.pk}", **{"X-Session-Token": login(asgi_server, alice)}
    )
    assert status == 200
    line = request_line(correlation_id)
    assert line.event.startswith(f"GET /api/pets/{pet.pk} 200 ")
    assert line.fields["route"] == "api/pets/<pet_id>"
    assert line.fields["user_id"] == alice.pk
    assert (line.fields["method"], line.fields["path"], line.fields["status"]) == ("GET", f"/api/pets/{pet.pk}", 200)
    assert line.fields["duration_ms"] >= 0
    assert f"route=api/pets/<pet_id> user_id={alice.pk}" in line.event


def test_a_devices_message_is_logged_with_its_type_and_feeder_id(asgi_server: AsgiServer, alice: User) -> None:
    feeder = FeederFactory(owner=alice)
    _, code = device_services.pairing_code_create(feeder=feeder, user=owner_of(feeder))
    _, _, token = device_services.feeder_pair(code=code, mac=feeder.mac, client="127.0.0.1")
    correlation_id, status = call(asgi_server, "POST", "/api/messages/Heartbeat", Authorization=f"Bearer {token}")
    assert status == 200
    line = request_line(correlation_id)
    assert line.fields["route"] == "message Heartbeat"
    assert line.fields["feeder_id"] == feeder.pk
    assert line.fields.get("user_id") is None


def test_an_anonymous_refusal_is_logged_with_its_route_and_nobody(asgi_server: AsgiServer, alice: User) -> None:
    pet = PetFactory(owner=alice)
    correlation_id, status = call(asgi_server, "GET", f"/api/pets/{pet.pk}")
    assert status == 401
    line = request_line(correlation_id)
    assert line.fields["route"] == "api/pets/<pet_id>"
    assert line.fields.get("user_id") is None
    assert line.fields["status"] == 401


def test_a_conflict_is_logged_once_by_the_request_line(asgi_server: AsgiServer, alice: User) -> None:
    feeder = FeederFactory(owner=alice)
    correlation_id = f"log-{uuid.uuid4().hex[:16]}"
    response = requests.post(
        f"{asgi_server.url}/api/feeders", json={"name": "Twin", "mac": feeder.mac}, timeout=30,
        headers={"X-Request-ID": correlation_id, "X-Session-Token": login(asgi_server, alice)},
    )  # fmt: skip
    assert response.status_code == 409
    line = request_line(correlation_id)
    since = timezone.now() - timedelta(minutes=5)
    records = logs_read(log_dir=settings.LOG_DIR, since=since, count=0, process="web")
    assert [r.fields.get("logger") for r in records if r.fields.get("correlation_id") == correlation_id] == [
        "apps.ops.web"
    ]
    assert line.fields["status"] == 409
