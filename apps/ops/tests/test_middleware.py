from __future__ import annotations

import json

import pytest
from django.test import Client

from apps.accounts.models import User
from apps.ops.health import Check, Outcome, Status
from apps.ops.services import maintenance_set
from apps.ops.tests.conftest import register

pytestmark = pytest.mark.django_db(transaction=True)


def test_in_maintenance_api_writes_answer_503_problem_json_with_retry_after(client: Client, staff: User) -> None:
    maintenance_set(enabled=True, by="root@example.com", message="Upgrading the database", retry_after=120)
    client.force_login(staff)
    response = client.post("/api/ops/worker-ping")
    assert response.status_code == 503
    assert response["Content-Type"] == "application/problem+json"
    assert response["Retry-After"] == "120"
    body = json.loads(response.content)
    assert body == {"type": "urn:catfeeder:problem:maintenance", "title": "Service Unavailable", "status": 503,
                    "detail": "Upgrading the database"}  # fmt: skip


def test_in_maintenance_reads_and_the_admin_keep_working(client: Client, superuser: User) -> None:
    maintenance_set(enabled=True, by="root@example.com", message="Back soon")
    client.force_login(superuser)
    assert client.get("/health/live").status_code == 200
    page = client.get("/admin/")
    assert page.status_code == 200
    assert "Maintenance: Back soon" in page.content.decode()  # the banner
    assert client.post("/admin/logout/").status_code == 200  # an admin write


def test_after_maintenance_writes_are_accepted_again(client: Client, staff: User) -> None:
    maintenance_set(enabled=True, by="x")
    maintenance_set(enabled=False, by="x")
    client.force_login(staff)
    assert client.post("/api/ops/worker-ping").status_code == 202


def test_writes_answer_503_when_a_critical_dependency_is_down(
    client: Client, staff: User, extra_check: list[str]
) -> None:
    from apps.ops.readiness import readiness_get

    register(extra_check, Check("queue", lambda: Outcome(Status.DOWN), critical=True, timeout=1))
    readiness_get(wait=True, max_age=0)  # what the background refresh would have found
    client.force_login(staff)
    response = client.post("/api/ops/worker-ping")
    assert response.status_code == 503
    assert response["Content-Type"] == "application/problem+json"
    assert json.loads(response.content)["type"] == "urn:catfeeder:problem:dependency-unavailable"
    assert response["Retry-After"] == "30"


def test_the_worker_ping_is_for_staff_only(client: Client, alice: User) -> None:
    assert client.post("/api/ops/worker-ping").status_code == 403
    client.force_login(alice)
    assert client.post("/api/ops/worker-ping").status_code == 403


def test_the_worker_ping_checks_csrf_for_a_session(staff: User) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff)
    response = client.post("/api/ops/worker-ping")
    assert response.status_code == 403
    assert json.loads(response.content)["type"] == "urn:catfeeder:problem:csrf"
