"""Tasks of the feeders domain. Each takes ids, re-reads its rows and calls a service."""

from __future__ import annotations

from typing import Any

from celery import Task, shared_task

from apps.feeders import meals, photos
from apps.feeders.models import PetPhoto

THUMBNAIL_RETRIES = 5  # then the requeue job tries again every photos.REQUEUE_AFTER


@shared_task(bind=True, acks_late=True, max_retries=THUMBNAIL_RETRIES, ignore_result=True)
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


@shared_task(ignore_result=True)
def feed_commands_deliver_task(command_ids: list[int], resend: bool = False) -> None:
    """Push commands to their feeders. Acknowledged late: a worker killed here runs it again,
    counted on each row (meals.feed_commands_deliver gives up after COMMAND_MAX_DELIVERIES)."""
    meals.feed_commands_deliver(command_ids=command_ids, resend=resend)
