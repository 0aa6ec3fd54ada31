from __future__ import annotations

from celery import shared_task

from apps.notifications.services import held_emails_requeue


@shared_task(ignore_result=True)
def held_emails_requeue_task() -> int:
    return held_emails_requeue()
