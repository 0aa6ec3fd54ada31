from __future__ import annotations

import logging

from celery import shared_task
from django.utils import timezone

from apps.ops.services import beat_tick_record, service_statuses_refresh

logger = logging.getLogger(__name__)


@shared_task
def worker_ping_task() -> str:
    """Answers "pong": proves a worker takes tasks from the broker."""
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
