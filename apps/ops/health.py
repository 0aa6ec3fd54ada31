"""The service registry: one check per service, each with its own deadline.

A check is a name, a criticality, a timeout and a callable that returns an
`Outcome` (or raises: any exception is "down" with the exception as detail).
Apps add theirs with `check_register`; `checks_run` runs the chosen ones in
parallel, each in a daemon thread, and never waits longer than a check's
timeout: a check stuck on a dead broker is reported down and left behind.

Critical checks decide readiness (`/health/ready`); those `shown_in_ready`
are listed there without deciding it; the others only colour `/health`,
`/metrics`, the admin page and `manage.py status`.
"""

from __future__ import annotations

import enum
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import connections
from django.utils import timezone


class Status(enum.StrEnum):
    OK = "ok"
    DEGRADED = "degraded"
    DOWN = "down"

    @property
    def rank(self) -> int:
        return {Status.OK: 0, Status.DEGRADED: 1, Status.DOWN: 2}[self]

    @property
    def health_json(self) -> str:
        """The word draft-inadarei-api-health-check uses for it."""
        return {Status.OK: "pass", Status.DEGRADED: "warn", Status.DOWN: "fail"}[self]


@dataclass(frozen=True)
class Component:
    """One part of a service: a worker, a web instance."""

    name: str
    status: Status
    detail: str = ""
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    status: Status
    detail: str = ""
    components: list[Component] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Check:
    name: str
    run: Callable[[], Outcome]
    critical: bool
    timeout: float  # seconds
    kind: str = "component"  # health+json componentType: datastore, system, component
    shown_in_ready: bool = False  # not critical, yet /health/ready lists it when it is not ok


@dataclass(frozen=True)
class CheckResult:
    name: str
    status: Status
    detail: str
    latency_ms: float
    critical: bool
    kind: str
    checked_at: datetime
    components: list[Component] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)


TIMED_OUT = "no answer within"  # a check's detail when it did not answer in time
_registry: dict[str, Check] = {}


def check_register(check: Check) -> Check:
    """Add or replace a check (by name). Apps call this from AppConfig.ready()."""
    _registry[check.name] = check
    return check


def check_unregister(*, name: str) -> None:
    _registry.pop(name, None)


def checks_registered() -> list[Check]:
    return list(_registry.values())


def _run_in_thread(check: Check, box: dict[str, Any]) -> None:
    started = time.perf_counter()
    try:
        box["outcome"] = check.run()
    except Exception as exc:  # noqa: BLE001 - any failure of a check is a "down", with the reason
        box["outcome"] = Outcome(Status.DOWN, f"{type(exc).__name__}: {exc}"[:500])
    finally:
        box["latency"] = (time.perf_counter() - started) * 1000
        # This thread's own database connection (Django keeps one per thread).
        connections.close_all()


def checks_run(*, names: Iterable[str] | None = None, critical_only: bool = False) -> list[CheckResult]:
    """Run checks in parallel; each answers within its own timeout."""
    chosen = [c for c in _registry.values() if (names is None or c.name in names) and (c.critical or not critical_only)]
    if names is not None:
        wanted = list(names)
        chosen.sort(key=lambda c: wanted.index(c.name))
    started = time.perf_counter()
    boxes: list[tuple[Check, dict[str, Any], threading.Thread]] = []
    for check in chosen:
        box: dict[str, Any] = {}
        thread = threading.Thread(target=_run_in_thread, args=(check, box), name=f"check-{check.name}", daemon=True)
        thread.start()
        boxes.append((check, box, thread))
    results = []
    for check, box, thread in boxes:
        thread.join(max(0.0, started + check.timeout - time.perf_counter()))
        outcome = box.get("outcome") if not thread.is_alive() else None
        if outcome is None:
            outcome = Outcome(Status.DOWN, f"{TIMED_OUT} {check.timeout:g}s")
            latency = check.timeout * 1000
        else:
            latency = box["latency"]
        results.append(
            CheckResult(
                name=check.name,
                status=outcome.status,
                detail=outcome.detail,
                latency_ms=round(latency, 1),
                critical=check.critical,
                kind=check.kind,
                checked_at=timezone.now(),
                components=outcome.components,
                data=outcome.data,
            )
        )
    return results


def overall_status(results: Iterable[CheckResult]) -> Status:
    """Down if a critical check is down; degraded if anything else is not ok."""
    status = Status.OK
    for result in results:
        if result.status is Status.DOWN and result.critical:
            return Status.DOWN
        if result.status is not Status.OK:
            status = Status.DEGRADED
    return status


def worst_status(results: Iterable[CheckResult]) -> Status:
    """The worst status of any check, critical or not (what `manage.py status` exits with)."""
    return max((r.status for r in results), key=lambda s: s.rank, default=Status.OK)
