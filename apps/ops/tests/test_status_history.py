from __future__ import annotations

import pytest
from django.utils import timezone

from apps.ops.health import CheckResult, Status, checks_registered
from apps.ops.models import ServiceStatus, StatusChange
from apps.ops.services import service_statuses_record, service_statuses_refresh

pytestmark = pytest.mark.django_db


def result(status: Status, detail: str = "") -> CheckResult:
    return CheckResult(name="broker", status=status, detail=detail, latency_ms=1.0, critical=True, kind="datastore",
                       checked_at=timezone.now())  # fmt: skip


def test_a_flip_is_written_once_even_when_two_processes_record_it() -> None:
    service_statuses_record(results=[result(Status.OK)])
    first = service_statuses_record(results=[result(Status.DOWN, "refused")])
    second = service_statuses_record(results=[result(Status.DOWN, "refused")])
    assert (first, second) == (["broker"], [])
    assert list(StatusChange.objects.values_list("status_from", "status_to", "detail")) == [
        ("ok", "down", "refused"),
        ("", "ok", ""),
    ]
    row = ServiceStatus.objects.get(name="broker")
    assert (row.status, row.detail, row.critical) == ("down", "refused", True)


def test_the_periodic_refresh_records_every_service() -> None:
    changed = service_statuses_refresh()
    assert set(changed) == {c.name for c in checks_registered()}  # all new
    assert set(ServiceStatus.objects.values_list("name", flat=True)) == set(changed)
