"""Tasks of the feeders domain. Each takes ids, re-reads its rows and calls a service.

Beat and queued messages know tasks by name, so a task's name outlives a move
of its code: the meal ticks keep the names they had in apps.tasks, and the tasks
services send by name take theirs from those services.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from celery import Task, shared_task

from apps.feeders.models import PetPhoto
from apps.feeders.services import commands, meals, offline, photos

logger = logging.getLogger(__name__)

THUMBNAIL_RETRIES = 5  # then the requeue job tries again every photos.REQUEUE_AFTER


@shared_task(
    bind=True, acks_late=True, max_retries=THUMBNAIL_RETRIES, ignore_result=True, name=photos.PHOTO_THUMBNAILS_TASK
)
def photo_thumbnails_task(self: Task[Any, Any], photo_id: int) -> None:
    photo = PetPhoto.objects.filter(pk=photo_id).first()
    if photo is None:
        return  # deleted before its thumbnails were made
    try:
        photos.photo_thumbnails_make(photo=photo)
    except photos.StorageUnavailable as exc:
        raise self.retry(exc=exc, countdown=min(10 * 2**self.request.retries, 300)) from exc


@shared_task(ignore_result=True)
def photo_thumbnails_requeue_task() -> None:
    photos.photo_thumbnails_requeue()


@shared_task(ignore_result=True)
def photo_orphans_delete_task() -> None:
    photos.photo_orphans_delete()


@shared_task(ignore_result=True, name=commands.FEED_COMMANDS_DELIVER_TASK)
def feed_commands_deliver_task(command_ids: list[int], resend: bool = False) -> None:
    """Push commands to their feeders. Acknowledged late: a worker killed here runs it again,
    counted on each row (commands.feed_commands_deliver gives up after COMMAND_MAX_DELIVERIES)."""
    commands.feed_commands_deliver(command_ids=command_ids, resend=resend)


# `expires`: a tick that waited longer than this in the queue is dropped: the next one
# does its work, and a stopped worker does not come back to a pile of stale ticks.
@shared_task(ignore_result=True, expires=60, name="apps.tasks.tasks.meal_slots_dispatch_task")
def meal_slots_dispatch_task(wake: bool = True, at: str | None = None) -> str:
    """Turn due meal slots into feed commands; beat's ticks also book a tick for a slot due before
    the next one (`wake=False`: that one books none), which writes them ahead and sends them at `at`."""
    # Delivered by this process as each batch commits: a queued delivery task was a second's hop.
    deliver = commands.feed_commands_deliver_here
    if at is not None:
        result = meals.meal_slots_dispatch_ahead(at=dt.datetime.fromisoformat(at), deliver=deliver)
    else:
        result = meals.meal_slots_dispatch(enqueue=deliver)
    if wake and (due := meals.meal_slots_wake_at()) is not None:
        kwargs = {"wake": False, "at": due.isoformat()}
        meal_slots_dispatch_task.apply_async(kwargs=kwargs, eta=due - meals.WAKE_LEAD)
    summary = f"{result.pending} queued, {result.missed} missed, {result.refused} over the allowance"
    if result.pending or result.missed or result.refused:  # Celery's own lines are quiet for this job
        logger.info("meal slots: %s", summary)
    return summary


@shared_task(ignore_result=True, expires=60, name="apps.tasks.tasks.feed_commands_reconcile_task")
def feed_commands_reconcile_task() -> str:
    result = commands.feed_commands_reconcile()
    # Slots a feeder serving its schedule alone has reported past (or not for too long): missed now.
    result.missed += offline.slots_unreported_settle()
    summary = f"{result.resent} sent again, {result.expired} expired, {result.missed} missed"
    if result.resent or result.expired or result.missed:
        logger.info("feed commands: %s", summary)
    return summary


# Acknowledged late: a worker killed here runs it again, and the counters it zeroes tell nobody twice.
@shared_task(ignore_result=True, acks_late=True, name=offline.LOCAL_MEALS_TELL_TASK)
def local_meals_tell_task(feeder_ids: list[int], at: str) -> None:
    """Tell the owners of feeders that acknowledged their schedule what each fed on its own."""
    offline.feeders_local_meals_tell(feeder_ids=feeder_ids, now=dt.datetime.fromisoformat(at))
