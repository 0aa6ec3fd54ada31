"""A critical check that misses its timeout once is degraded; twice in a row, down (apps/ops/readiness.py)."""

from __future__ import annotations

from django.utils import timezone

from apps.ops.health import CheckResult, Status
from apps.ops.readiness import Run, first_timeouts_degraded


def result(status: Status, detail: str) -> CheckResult:
    return CheckResult(name="cache", status=status, detail=detail, latency_ms=1.0, critical=True, kind="datastore",
                       checked_at=timezone.now())  # fmt: skip


def test_one_timeout_is_degraded_the_second_in_a_row_is_down_and_a_failure_is_down_at_once() -> None:
    timeout = result(Status.DOWN, "no answer within 2s")
    first = first_timeouts_degraded([timeout], Run([result(Status.OK, "ok")]))
    assert first[0].status is Status.DEGRADED
    assert Run(first).critical_down == []
    second = first_timeouts_degraded([timeout], Run(first))
    assert second[0].status is Status.DOWN
    refused = result(Status.DOWN, "ConnectionError: Connection refused")
    assert first_timeouts_degraded([refused], Run([result(Status.OK, "ok")]))[0].status is Status.DOWN
    recovered = first_timeouts_degraded([result(Status.OK, "ok")], Run(second))
    assert recovered[0].status is Status.OK
    assert first_timeouts_degraded([timeout], Run(recovered))[0].status is Status.DEGRADED
