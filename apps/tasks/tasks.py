from __future__ import annotations

import logging

from celery import shared_task
from django.utils import timezone

from apps.feeders import meals
from apps.feeders.alerts import alerts_check
from apps.feeders.services import feeders_offline_detect
from apps.ops.services import beat_tick_record, service_statuses_refresh
from apps.tasks.services import housekeeping_run

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


# -- scheduled meals and feed commands (issue 6) -------------------------------------
# `expires`: a tick that waited longer than this in the queue is dropped: the next one
# does its work, and a stopped worker does not come back to a pile of stale ticks.
@shared_task(ignore_result=True, expires=60)
def meal_slots_dispatch_task(wake: bool = True) -> str:
    """Turn due meal slots into feed commands (apps.feeders.meals); beat's ticks also book a
    tick at the second of a slot due before the next one (`wake=False`: that one books none)."""
    result = meals.meal_slots_dispatch()
    if wake and (at := meals.meal_slots_wake_at()) is not None:
        meal_slots_dispatch_task.apply_async(kwargs={"wake": False}, eta=at)
    summary = f"{result.pending} queued, {result.missed} missed, {result.refused} over the allowance"
    if result.pending or result.missed or result.refused:  # Celery's own lines are quiet for this job
        logger.info("meal slots: %s", summary)
    return summary


@shared_task(ignore_result=True, expires=60)
def feed_commands_reconcile_task() -> str:
    result = meals.feed_commands_reconcile()
    summary = f"{result.resent} sent again, {result.expired} expired, {result.missed} missed"
    if result.resent or result.expired or result.missed:
        logger.info("feed commands: %s", summary)
    return summary


@shared_task(ignore_result=True, expires=300)
def alerts_check_task() -> str:
    offline = feeders_offline_detect()
    counts = alerts_check()
    return f"{offline} feeder(s) found offline; alerts {counts['opened']} opened, {counts['closed']} closed"


@shared_task(ignore_result=True, expires=3600)
def housekeeping_task() -> str:
    removed = housekeeping_run()
    return ", ".join(f"{count} {what}" for what, count in removed.items()) + " removed"
