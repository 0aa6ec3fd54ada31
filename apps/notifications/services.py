"""Outgoing mail: rendered in the request, sent by a Celery task after commit.

A request never talks to the SMTP server: `email_send` queues the rendered
message once the transaction commits (a rolled-back sign-up sends nothing),
and the worker delivers it, retrying with backoff while the server is away.
A mail the broker will not take is held in the database (`HeldEmail`) and
queued again by the "held mail requeue" job once the broker is back.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Collection, Sequence
from dataclasses import asdict, dataclass, field
from typing import TypeVar

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from apps.notifications.mail import email_queue
from apps.notifications.models import Alert, AlertKind, AlertPreference, HeldEmail

logger = logging.getLogger(__name__)


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
    message = asdict(email)
    try:
        email_queue(message)
    except Exception as exc:  # noqa: BLE001 - whatever the broker's client raises, the mail is held, not lost
        # The broker is down: the owner's action stands (never a 500 for it) and the mail waits
        # in the database. Bodies hold one-time links and are never logged.
        what = f"the mail {email.subject!r} to {', '.join(email.to)}"
        try:
            HeldEmail.objects.create(message=message, error=f"{type(exc).__name__}: {exc}"[:300])
        except Exception:
            logger.exception("could not queue %s, nor hold it in the database: it is lost", what)
            return
        logger.warning("could not queue %s (%s: %s); held until the broker is back", what, type(exc).__name__, exc)


def held_emails_requeue(*, batch: int = 100) -> int:
    """Queue the held mails again, oldest first; returns how many went.

    A row is deleted once the broker took its mail, in the transaction that
    locked it (SKIP LOCKED: two runs never queue one twice). The first refusal
    ends the run; the rest wait for the next.
    """
    requeued = 0
    while True:
        with transaction.atomic():
            rows = list(HeldEmail.objects.select_for_update(skip_locked=True)[:batch])
            queued: list[int] = []
            refused = False
            for row in rows:
                try:
                    email_queue(row.message)
                except Exception as exc:  # noqa: BLE001 - any refusal: the row stays for the next run
                    logger.warning("held mail: the broker still refuses (%s: %s)", type(exc).__name__, exc)
                    refused = True
                    break
                queued.append(row.pk)
            HeldEmail.objects.filter(pk__in=queued).delete()
        requeued += len(queued)
        if refused or len(rows) < batch:
            return requeued


Reader = TypeVar("Reader", bound=AbstractBaseUser)  # who an alert is mailed to


# -- alerts: one mail per incident --------------------------------------------------------
def alert_open(
    *,
    readers: Sequence[Reader],
    kind: AlertKind,
    key: str,
    subject: str,
    detail: Callable[[Reader], str],
    now: dt.datetime | None = None,
) -> Alert | None:
    """Open an incident and mail each of `readers` who wants this kind of alert (after commit),
    unless one is open already. The row is the first reader's; `detail` words it for each reader
    (times in their own zone).

    Returns the new alert, or None when the incident was open: a check that
    runs every minute mails once, not every minute. The unique open (kind, key)
    settles two processes opening the same incident at once.
    """
    now = now or timezone.now()
    with transaction.atomic():
        if Alert.objects.filter(kind=kind, key=key, closed_at__isnull=True).exists():
            return None
        try:
            with transaction.atomic():
                alert = Alert.objects.create(
                    owner_id=readers[0].pk, kind=kind, key=key, subject=subject[:200], detail=detail(readers[0]),
                    opened_at=now,
                )  # fmt: skip
        except IntegrityError:
            return None
        refused = set(
            AlertPreference.objects.filter(
                owner_id__in=[r.pk for r in readers], **{AlertKind(kind).value: False}
            ).values_list("owner_id", flat=True)
        )
        title = f"{settings.PRODUCT_NAME}: {alert.subject}"
        for reader in readers:
            if reader.pk in refused:
                continue
            text = detail(reader)
            to = str(getattr(reader, reader.get_email_field_name()))  # whatever the user model calls it
            email_send(email=OutgoingEmail(to=[to], subject=title, text=text,
                                           html=email_html_from_text(subject=title, text=text)))  # fmt: skip
            alert.mailed_at = now
        if alert.mailed_at is not None:
            alert.save(update_fields=["mailed_at"])
    return alert


def alert_close(*, kind: AlertKind, key: str, now: dt.datetime | None = None) -> int:
    """End the open incident, if any: the next one mails again."""
    return alerts_close(kind=kind, keys=[key], now=now)


def alerts_close(*, kind: AlertKind, keys: Collection[str], now: dt.datetime | None = None) -> int:
    """alert_close of each key, in one statement."""
    open_ones = Alert.objects.filter(kind=kind, key__in=keys, closed_at__isnull=True)
    return open_ones.update(closed_at=now or timezone.now())


def alert_preferences_update(*, owner: AbstractBaseUser, data: dict[str, bool]) -> AlertPreference:
    unknown = set(data) - set(AlertKind.values)
    if unknown:
        raise ValueError(f"not an alert: {', '.join(sorted(unknown))}")
    preference, _ = AlertPreference.objects.update_or_create(owner_id=owner.pk, defaults=data)
    return preference
