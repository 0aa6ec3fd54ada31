"""One mail's way out: the Celery task that delivers it through the configured
backend (SMTP from EMAIL_URL), retried with backoff while the server is away.

services.py renders mail and queues it here after commit; this module reads
no rows, so it sits below the services that call it and the periodic jobs above them.
"""

from __future__ import annotations

import logging
import random
import smtplib
from typing import Any

from celery import Task, shared_task
from django.conf import settings
from django.core.mail import EmailMultiAlternatives

logger = logging.getLogger(__name__)

FIRST_RETRY_DELAY = 2  # seconds; doubles with every try up to EMAIL_RETRY_BACKOFF_MAX
# How hard the request tries to hand the message to the broker before giving up.
BROKER_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.5, "interval_max": 1}


def email_retry_delay(*, retries: int) -> float:
    """Exponential backoff with jitter, so that a crowd of mails does not return at once."""
    ceiling = min(settings.EMAIL_RETRY_BACKOFF_MAX, FIRST_RETRY_DELAY * 2**retries)
    return float(ceiling * random.uniform(0.5, 1.0))  # noqa: S311 - jitter, not a secret


def is_permanent(exc: Exception) -> bool:
    """A 5xx answer (unknown mailbox, refused sender) will not change by trying again."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in exc.recipients.values())
    return isinstance(exc, smtplib.SMTPResponseException) and exc.smtp_code >= 500


def email_deliver(*, message: dict[str, Any]) -> None:
    """Send one queued message through the configured backend."""
    mail = EmailMultiAlternatives(
        subject=message["subject"],
        body=message["text"],
        from_email=message["from_email"],
        to=message["to"],
        headers=message.get("headers") or {},
    )
    if message.get("html"):
        mail.attach_alternative(message["html"], "text/html")
    mail.send(fail_silently=False)


# The name mails already in the broker were queued under (the task lived in tasks.py).
@shared_task(
    bind=True, acks_late=True, ignore_result=True, max_retries=None, name="apps.notifications.tasks.email_send_task"
)
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


def email_queue(message: dict[str, Any]) -> None:
    """Hand the message to the broker (raises when it will not take it)."""
    email_send_task.apply_async(
        kwargs={"message": message},
        queue=settings.EMAIL_QUEUE or email_send_task.app.conf.task_default_queue,
        retry=True,
        retry_policy=BROKER_RETRY_POLICY,
    )
