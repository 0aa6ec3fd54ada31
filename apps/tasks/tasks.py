from __future__ import annotations

import logging
from typing import Any

from celery import Task, shared_task
from django.utils import timezone

from apps.feeders.services.alerts import alerts_check
from apps.feeders.services.presence import feeders_offline_detect
from apps.ops.services import beat_tick_record, service_statuses_refresh
from apps.tasks.services import housekeeping_run

logger = logging.getLogger(__name__)


@shared_task(bind=True)
def worker_ping_task(self: Task[Any, Any]) -> str:
    """Answers "pong": proves a worker takes tasks from the broker.

    An operator asked (the ops page, POST /api/ops/worker-ping): the answer is
    logged, as routine tasks are not (their lines are at debug level).
    """
    logger.info("worker ping %s answered", self.request.id)
    return "pong"


@shared_task(ignore_result=True)
def beat_heartbeat_task() -> None:
    """Sent by beat on an interval: records that beat and a worker both run."""
    now = timezone.now()
    beat_tick_record(at=now)
    logger.info("beat heartbeat at %s", now.isoformat(timespec="seconds"))


@shared_task(ignore_result=True, expires=60)
def service_statuses_record_task() -> None:
    """Sent by beat: the status history fills in even when no page or probe asks."""
    changed = service_statuses_refresh()
    if changed:
        logger.info("service status changed: %s", ", ".join(changed))


@shared_task(ignore_result=True, expires=300)
def alerts_check_task() -> str:
    offline = feeders_offline_detect()
    counts = alerts_check()
    return f"{offline} feeder(s) found offline; alerts {counts['opened']} opened, {counts['closed']} closed"


@shared_task(ignore_result=True, expires=3600)
def housekeeping_task() -> str:
    removed = housekeeping_run()
    return ", ".join(f"{count} {what}" for what, count in removed.items()) + " removed"
