from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from django.test import Client, override_settings

from apps.ops.health import Check, Outcome, Status
from apps.ops.instance import current_instance
from apps.ops.models import ServiceStatus, StatusChange
from apps.ops.readiness import Run, critical_runs
from apps.ops.tests.conftest import register
from catfeeder.testing import wait_until

pytestmark = pytest.mark.django_db(transaction=True)

TOKEN = "t0ken-for-the-scraper-0123456789"  # noqa: S105 - a test token


@pytest.fixture
def scraper(settings: Any) -> Client:
    """A client with the ops token (tests run with DEBUG off, as production)."""
    settings.OPS_TOKEN = TOKEN
    return Client(HTTP_AUTHORIZATION=f"Bearer {TOKEN}")


def test_ready_is_200_when_every_critical_service_answers(client: Client) -> None:
    response = client.get("/health/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "pass", "reasons": [], "warnings": [], "maintenance": False}


def test_ready_is_503_while_the_instance_drains(client: Client) -> None:
    instance = current_instance()
    instance.start_draining("test")
    try:
        response = client.get("/health/ready")
    finally:
        instance.draining = False
    assert response.status_code == 503
    assert response.json()["reasons"] == ["draining (test)"]


def test_ready_is_503_when_a_critical_dependency_is_down(client: Client, extra_check: list[str]) -> None:
    register(extra_check, Check("vault", lambda: Outcome(Status.DOWN, "sealed"), critical=True, timeout=1))
    response = client.get("/health/ready")
    assert response.status_code == 503
    assert response.json()["reasons"] == ["vault down"]


def test_ready_ignores_a_non_critical_service_down(client: Client, extra_check: list[str]) -> None:
    register(extra_check, Check("printer", lambda: Outcome(Status.DOWN), critical=False, timeout=1))
    response = client.get("/health/ready")
    assert response.status_code == 200
    assert "printer down" not in response.json()["warnings"]


def test_ready_is_503_when_a_shared_service_is_down(client: Client, extra_check: list[str]) -> None:
    register(extra_check, Check("bucket", lambda: Outcome(Status.DOWN), critical=False, timeout=1,
                                shown_in_ready=True))  # fmt: skip

    def refused() -> bool:  # the shared checks run in the background: a later answer carries them
        response = client.get("/health/ready")
        return response.status_code == 503 and "bucket down" in response.json()["reasons"]

    wait_until(refused, timeout=30, what="bucket down refuses readiness", interval=0.2)
    assert client.get("/health/ready").json()["status"] == "fail"


def test_ready_lists_a_shared_service_down_and_stays_in_service_when_told_to_warn(
    client: Client, extra_check: list[str], settings: Any
) -> None:
    settings.OPS_READY_SHARED = "warn"
    register(extra_check, Check("bucket", lambda: Outcome(Status.DOWN), critical=False, timeout=1,
                                shown_in_ready=True))  # fmt: skip

    def warned() -> bool:
        response = client.get("/health/ready")
        assert response.status_code == 200
        return "bucket down" in response.json()["warnings"]

    wait_until(warned, timeout=30, what="bucket listed", interval=0.2)
    assert client.get("/health/ready").json()["status"] == "warn"


def test_health_answers_health_json_with_every_check(scraper: Client) -> None:
    response = scraper.get("/health")
    assert response["Content-Type"] == "application/health+json"
    body = json.loads(response.content)
    assert body["status"] in {"pass", "warn"}  # no worker or beat runs in this test
    assert {"database:responseTime", "broker:responseTime", "channel_layer:responseTime"} <= set(body["checks"])
    database = body["checks"]["database:responseTime"][0]
    assert database["status"] == "pass"
    assert database["observedUnit"] == "ms"


def test_health_records_each_status_and_its_changes(client: Client, extra_check: list[str]) -> None:
    register(extra_check, Check("flappy", lambda: Outcome(Status.OK), critical=False, timeout=1))
    client.get("/health")
    register(extra_check, Check("flappy", lambda: Outcome(Status.DOWN, "gone"), critical=False, timeout=1))
    client.get("/health")
    client.get("/health")  # no change: no new row
    assert ServiceStatus.objects.get(name="flappy").status == "down"
    changes = list(StatusChange.objects.filter(service="flappy").values_list("status_from", "status_to"))
    assert changes == [("ok", "down"), ("", "ok")]


@override_settings(DEBUG=False, OPS_TOKEN=TOKEN)
def test_in_production_health_details_need_a_token_or_staff(client: Client, staff: object) -> None:
    anonymous = json.loads(client.get("/health").content)
    assert set(anonymous) == {"status", "version"}
    with_token = json.loads(client.get("/health", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content)
    assert "checks" in with_token
    client.force_login(staff)  # type: ignore[arg-type]
    assert "checks" in json.loads(client.get("/health").content)


@override_settings(DEBUG=False, OPS_TOKEN=TOKEN)
def test_in_production_metrics_need_a_token(client: Client) -> None:
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200


def test_feedings_are_counted_by_status(scraper: Client) -> None:
    from apps.feeders.models import FeedCommand, FeedSource
    from apps.feeders.tests.factories import FeederFactory, PetFactory

    feeder, pet = FeederFactory(), PetFactory()
    for status in ("done", "done", "pending"):
        FeedCommand.objects.create(feeder=feeder, pet=pet, grams=10, source=FeedSource.OWNER, status=status)
    text = scraper.get("/metrics").content.decode()
    assert 'catfeeder_feed_commands{status="done"} 2.0' in text
    assert 'catfeeder_feed_commands{status="pending"} 1.0' in text


def test_metrics_speak_prometheus_text(scraper: Client) -> None:
    from prometheus_client.core import GaugeMetricFamily

    from apps.ops.metrics import http_request_observe, metrics_register

    feedings = GaugeMetricFamily("catfeeder_feedings", "By status.", labels=["status"])
    feedings.add_metric(["done"], 3)
    metrics_register("feedings", lambda: [feedings])
    # What the ASGI middleware records; without a multiprocess directory this process's registry is read.
    http_request_observe(instance="test-instance", method="PATCH", status=418, seconds=0.02)
    response = scraper.get("/metrics")
    text = response.content.decode()
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    assert 'catfeeder_check_status{service="database",status="ok"} 1' in text
    assert 'catfeeder_check_latency_seconds{service="cache"}' in text
    assert 'catfeeder_queue_length{queue="celery"}' in text
    assert 'catfeeder_feedings{status="done"} 3.0' in text  # another app's family, through the hook
    assert 'catfeeder_http_requests_total{instance="test-instance",method="PATCH",status="418"} 1.0' in text
    assert 'catfeeder_http_request_duration_seconds_bucket{instance="test-instance",le="0.025"} 1.0' in text
    assert "# TYPE catfeeder_feed_commands gauge" in text


def test_the_health_endpoints_refuse_writes(client: Client) -> None:
    for url in ("/health", "/health/live", "/health/ready", "/metrics"):
        assert client.post(url).status_code == 405


def test_a_check_run_asked_for_before_a_forget_is_not_kept(extra_check: list[str]) -> None:
    """A run that started before forget() (a request's background refresh, say) ends after it:
    the next reader must not get its results, taken with the checks as they were."""
    started, release = threading.Event(), threading.Event()

    def slow() -> Outcome:
        started.set()
        release.wait(5)
        return Outcome(Status.OK, "")

    register(extra_check, Check("slow", slow, critical=True, timeout=10))
    critical_runs.get(max_age=0, wait=False)  # a background refresh, as the middleware starts one
    assert started.wait(5)
    critical_runs.forget()
    release.set()
    wait_until(lambda: not critical_runs.refreshing, timeout=5, what="the background refresh")
    assert critical_runs.run == Run()
