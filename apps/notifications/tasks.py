from __future__ import annotations

import logging
import random
import smtplib
from typing import Any

from celery import Task, shared_task
from django.conf import settings

from apps.notifications.services import email_deliver, held_emails_requeue

logger = logging.getLogger(__name__)

FIRST_RETRY_DELAY = 2  # seconds; doubles with every try up to EMAIL_RETRY_BACKOFF_MAX


def email_retry_delay(*, retries: int) -> float:
    """Exponential backoff with jitter, so that a crowd of mails does not return at once."""
    ceiling = min(settings.EMAIL_RETRY_BACKOFF_MAX, FIRST_RETRY_DELAY * 2**retries)
    return float(ceiling * random.uniform(0.5, 1.0))  # noqa: S311 - jitter, not a secret


def is_permanent(exc: Exception) -> bool:
    """A 5xx answer (unknown mailbox, refused sender) will not change by trying again."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in exc.recipients.values())
    return isinstance(exc, smtplib.SMTPResponseException) and exc.smtp_code >= 500


@shared_task(bind=True, acks_late=True, ignore_result=True, max_retries=None)
def email_send_task(self: Task[Any, Any], message: dict[str, Any]) -> None:
    """Deliver one mail; retried with backoff while the server is unreachable or busy."""
    what = f"mail {message['subject']!r} to {', '.join(message['to'])}"
    try:
        email_deliver(message=message)
    except (smtplib.SMTPException, OSError) as exc:
        tries = self.request.retries + 1
        if is_permanent(exc) or self.request.retries >= settings.EMAIL_MAX_RETRIES:
            logger.error("%s failed for good after %d tries: %s", what, tries, exc)
            return
        delay = email_retry_delay(retries=self.request.retries)
        logger.warning("%s failed (try %d: %s); trying again in %.1f s", what, tries, exc, delay)
        raise self.retry(exc=exc, countdown=delay) from exc
    logger.info("sent %s", what)


@shared_task(ignore_result=True)
def held_emails_requeue_task() -> int:
    return held_emails_requeue()
