"""Outgoing mail: rendered in the request, sent by a Celery task after commit.

A request never talks to the SMTP server: `email_send` queues the rendered
message once the transaction commits (a rolled-back sign-up sends nothing),
and the worker delivers it, retrying with backoff while the server is away.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string

logger = logging.getLogger(__name__)

# How hard the request tries to hand the message to the broker before giving up.
BROKER_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.5, "interval_max": 1}


@dataclass(frozen=True)
class OutgoingEmail:
    to: list[str]
    subject: str
    text: str
    html: str
    from_email: str = field(default_factory=lambda: settings.DEFAULT_FROM_EMAIL)
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_message(cls, message: EmailMessage) -> OutgoingEmail:
        """A rendered Django message as plain data; a text-only one gets the HTML layout around its text."""
        text, html = str(message.body), None
        if message.content_subtype == "html":
            text, html = "", str(message.body)
        for content, mimetype in getattr(message, "alternatives", []):
            if mimetype == "text/html":
                html = str(content)
        if html is None:
            html = email_html_from_text(subject=str(message.subject), text=text)
        return cls(
            to=list(message.to),
            subject=str(message.subject),
            text=text,
            html=html,
            from_email=message.from_email or settings.DEFAULT_FROM_EMAIL,
            headers={str(k): str(v) for k, v in (message.extra_headers or {}).items()},
        )


def email_html_from_text(*, subject: str, text: str) -> str:
    return render_to_string(
        "notifications/email/text_as_html.html",
        {"subject": subject, "text": text, "product_name": settings.PRODUCT_NAME},
    )


def email_send(*, email: OutgoingEmail) -> None:
    """Queue the mail for the worker once the current transaction commits."""
    transaction.on_commit(lambda: _email_enqueue(email))


def _email_enqueue(email: OutgoingEmail) -> None:
    from apps.notifications.tasks import email_send_task

    try:
        email_send_task.apply_async(
            kwargs={"message": asdict(email)},
            queue=settings.EMAIL_QUEUE or email_send_task.app.conf.task_default_queue,
            retry=True,
            retry_policy=BROKER_RETRY_POLICY,
        )
    except Exception:
        # The broker is down: the owner's action stands, the mail is lost and
        # said so here (never a 500 for the owner); bodies hold one-time links
        # and are never logged.
        logger.exception("could not queue the mail %r to %s", email.subject, ", ".join(email.to))


def email_deliver(*, message: dict[str, Any]) -> None:
    """Send one queued message through the configured backend (SMTP from EMAIL_URL)."""
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
