"""The registry's results as people and programs read them: health+json, a table."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db import DatabaseError

from apps.ops.health import CheckResult, Status, checks_run, overall_status
from apps.ops.services import service_statuses_record

logger = logging.getLogger(__name__)


def health_run(*, record: bool = True) -> list[CheckResult]:
    """Run every check; store the statuses (and their changes) when the database allows."""
    results = checks_run()
    if record:
        try:
            service_statuses_record(results=results)
        except DatabaseError as exc:
            logger.info("statuses not recorded (database unavailable): %s", exc)
    return results


def health_json(results: list[CheckResult], *, instance_id: str = "") -> dict[str, Any]:
    """The draft-inadarei-api-health-check shape (application/health+json)."""
    checks: dict[str, list[dict[str, Any]]] = {}
    for result in results:
        entry = {
            "componentType": result.kind,
            "status": result.status.health_json,
            "observedValue": result.latency_ms,
            "observedUnit": "ms",
            "time": result.checked_at.isoformat(),
            "output": result.detail,
            "critical": result.critical,
        }
        parts = [{"componentId": c.name, "status": c.status.health_json, "output": c.detail} for c in result.components]
        checks[f"{result.name}:responseTime"] = [entry, *parts]
    return {
        "status": overall_status(results).health_json,
        "version": settings.CATFEEDER_VERSION.split(".")[0],
        "releaseId": settings.CATFEEDER_VERSION,
        "serviceId": instance_id,
        "description": "Cat Feeder",
        "checks": checks,
    }


def status_table(results: list[CheckResult]) -> str:
    rows = [("SERVICE", "STATUS", "LATENCY", "DETAIL")]
    for result in results:
        name = result.name + (" *" if result.critical else "")
        rows.append((name, result.status.value, f"{result.latency_ms:.0f} ms", result.detail))
        for component in result.components:
            rows.append((f"  {component.name}", component.status.value, "", component.detail))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [f"{r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]:>{widths[2]}}  {r[3]}".rstrip() for r in rows]
    return "\n".join(lines) + "\n* critical: decides readiness\n"


EXIT_CODES = {Status.OK: 0, Status.DEGRADED: 1, Status.DOWN: 2}
