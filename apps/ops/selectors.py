from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.cache import cache
from django.db import DatabaseError
from django.db.models import Count, Max, QuerySet
from django.utils import timezone

from apps.ops.models import Maintenance, PeriodicPause, ServiceStatus, StatusChange
from apps.ops.redis import BEAT_KEY, WEB_KEY, WORKERS_KEY, redis_client

logger = logging.getLogger(__name__)

BEAT_TICK_KEY = "ops:beat:last_tick"  # in the cache: when beat last ran its heartbeat job

WEB_LOST_AFTER = 20  # seconds without a heartbeat before an instance counts as lost (4 heartbeats)
WEB_FORGET_AFTER = 600  # seconds after which a stopped or lost instance leaves the list
WORKER_FORGET_AFTER = 600  # seconds after which a stopped worker leaves the list
MAINTENANCE_CACHE = 2.0  # seconds a process trusts its copy of the maintenance switch


def beat_last_tick() -> datetime | None:
    value = cache.get(BEAT_TICK_KEY)
    return datetime.fromisoformat(value) if value else None


def beat_process() -> dict[str, Any] | None:
    """The beat process that announced itself last (host, pid, started_at)."""
    value = redis_client().get(BEAT_KEY)
    return json.loads(str(value)) if value else None


def workers_known() -> dict[str, dict[str, Any]]:
    """Workers that announced themselves; those stopped long ago are forgotten."""
    raw = redis_client().hgetall(WORKERS_KEY)
    known = {}
    for name, value in dict(raw).items():
        info = json.loads(value)
        stopped = info.get("stopped_at")
        if stopped and (timezone.now() - datetime.fromisoformat(stopped)).total_seconds() > WORKER_FORGET_AFTER:
            continue
        known[str(name)] = info
    return known


def web_instances_list() -> list[dict[str, Any]]:
    """Registered web instances with their state: running, draining, stopped or lost."""
    raw = redis_client().hgetall(WEB_KEY)
    now = timezone.now()
    instances = []
    for value in dict(raw).values():
        item = json.loads(value)
        age = (now - datetime.fromisoformat(item["heartbeat_at"])).total_seconds()
        if age > WEB_FORGET_AFTER:
            continue
        if item.get("stopped"):
            state = "stopped"
        elif age > WEB_LOST_AFTER:
            state = "lost"
        else:
            state = "draining" if item.get("draining") else "running"
        instances.append({**item, "state": state, "heartbeat_age": round(age, 1)})
    return sorted(instances, key=lambda i: (i["host"], i["started_at"]))


def web_instance_get(*, instance_id: str) -> dict[str, Any] | None:
    return next((i for i in web_instances_list() if i["id"] == instance_id), None)


def periodic_pause_get() -> dict[str, Any] | None:
    """Whether periodic jobs are paused: how many, since when, by whom."""
    summary = PeriodicPause.objects.aggregate(count=Count("id"), since=Max("paused_at"))
    if not summary["count"]:
        return None
    last = PeriodicPause.objects.order_by("-paused_at").first()
    return {"count": summary["count"], "since": summary["since"], "by": last.paused_by if last else ""}


@dataclass(frozen=True)
class MaintenanceState:
    enabled: bool
    message: str = ""
    retry_after: int = 300


class _MaintenanceCache:
    """Each process reads the switch at most every MAINTENANCE_CACHE seconds.

    When the database cannot be read, the last known state stays: an outage
    must neither switch maintenance on nor off.
    """

    def __init__(self) -> None:
        self.state = MaintenanceState(enabled=False)
        self.read_at = 0.0
        self.lock = threading.Lock()

    def get(self) -> MaintenanceState:
        if time.monotonic() - self.read_at < MAINTENANCE_CACHE:
            return self.state
        with self.lock:
            if time.monotonic() - self.read_at >= MAINTENANCE_CACHE:
                self.read_at = time.monotonic()
                try:
                    self.state = maintenance_read()
                except DatabaseError as exc:
                    logger.warning("maintenance switch unreadable, keeping the last state: %s", exc)
        return self.state

    def forget(self) -> None:
        """Read the switch again at the next look."""
        self.read_at = 0.0
        self.state = MaintenanceState(enabled=False)


maintenance_cache = _MaintenanceCache()


def maintenance_read() -> MaintenanceState:
    row = Maintenance.objects.filter(pk=1).first()
    if row is None:
        return MaintenanceState(enabled=False)
    return MaintenanceState(enabled=row.enabled, message=row.message, retry_after=row.retry_after)


def maintenance_get() -> MaintenanceState:
    return maintenance_cache.get()


def service_statuses() -> QuerySet[ServiceStatus]:
    return ServiceStatus.objects.all()


def status_changes_recent(*, limit: int = 50) -> QuerySet[StatusChange]:
    return StatusChange.objects.all()[:limit]
