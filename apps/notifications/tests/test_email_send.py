"""Mail is queued after commit and delivered by email_send_task, against a real
SMTP server on loopback (run eagerly here; tests/ runs it on a real worker)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import asdict
from typing import Any

import pytest
from django.core.mail import EmailMessage
from django.db import transaction
from pytest_django.fixtures import Settings

from apps.notifications import services
from apps.notifications.mail import email_retry_delay, email_send_task
from apps.notifications.models import HeldEmail
from apps.notifications.services import OutgoingEmail, email_send, held_emails_requeue
from apps.notifications.tasks import held_emails_requeue_task
from apps.tasks.periodic import periodic_jobs
from tests.support.smtp import SmtpServer, parts


class RejectingInbox:
    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:  # noqa: N802
        return "550 5.1.1 no such mailbox"


@pytest.fixture
def smtp(settings: Settings) -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    yield server
    server.stop()


def message(to: str = "alice@example.com") -> dict[str, Any]:
    email = OutgoingEmail(to=[to], subject="Cat Feeder: hello", text="Hi https://example.com/x", html="<p>Hi</p>")
    return {**email.__dict__}


def test_the_task_delivers_text_and_html(smtp: SmtpServer) -> None:
    email_send_task.apply(kwargs={"message": message()}).get()
    [received] = smtp.wait_for("alice@example.com", timeout=10)
    assert received["Subject"] == "Cat Feeder: hello"
    assert tuple(part.strip() for part in parts(received)) == ("Hi https://example.com/x", "<p>Hi</p>")


def test_a_mailbox_refused_for_good_is_logged_and_not_retried(
    smtp: SmtpServer, caplog: pytest.LogCaptureFixture
) -> None:
    smtp.stop()
    smtp.inbox = RejectingInbox()  # type: ignore[assignment]
    smtp.start()
    with caplog.at_level(logging.ERROR, logger="apps.notifications.mail"):
        result = email_send_task.apply(kwargs={"message": message("nobody@example.com")})
    assert result.successful()  # no retry was scheduled
    assert "failed for good after 1 tries" in caplog.text


def test_an_unreachable_server_is_retried_then_given_up_and_logged(
    smtp: SmtpServer, caplog: pytest.LogCaptureFixture, settings: Settings
) -> None:
    smtp.stop()
    with caplog.at_level(logging.WARNING, logger="apps.notifications.mail"):
        email_send_task.apply(kwargs={"message": message()})  # eager: retries run at once, no waiting
    tries = settings.EMAIL_MAX_RETRIES + 1
    assert [f"failed (try {n}:" in caplog.text for n in range(1, tries)] == [True] * (tries - 1)
    assert f"failed for good after {tries} tries" in caplog.text
    assert all(1 <= email_retry_delay(retries=0) <= 2 for _ in range(20))
    assert all(email_retry_delay(retries=30) <= 300 for _ in range(20))


def test_nothing_is_queued_when_the_transaction_rolls_back(monkeypatch: pytest.MonkeyPatch, db: None) -> None:
    queued: list[OutgoingEmail] = []
    monkeypatch.setattr(services, "_email_enqueue", queued.append)
    email = OutgoingEmail(to=["a@example.com"], subject="s", text="t", html="h")

    def sign_up_that_fails() -> None:
        with transaction.atomic():
            email_send(email=email)
            raise RuntimeError

    with pytest.raises(RuntimeError):
        sign_up_that_fails()
    assert queued == []


def refuse(*args: Any, **kwargs: Any) -> None:
    raise ConnectionError("broker down")


def test_a_mail_the_broker_refuses_is_held_and_logged_without_its_body(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, db: None
) -> None:
    monkeypatch.setattr(email_send_task, "apply_async", refuse)
    email = OutgoingEmail(to=["a@example.com"], subject="s", text="secret-link", html="h")
    services._email_enqueue(email)  # raises nothing: the owner's action stands
    assert "could not queue the mail 's' to a@example.com (ConnectionError: broker down); held" in caplog.text
    assert "secret-link" not in caplog.text  # bodies carry one-time links
    [held] = HeldEmail.objects.all()
    assert held.message == asdict(email)
    assert held.error == "ConnectionError: broker down"


def hold(n: int) -> None:
    email = OutgoingEmail(to=[f"held{n}@example.com"], subject=f"held {n}", text=f"mail {n}", html=f"<p>{n}</p>")
    HeldEmail.objects.create(message=asdict(email), error="ConnectionError: broker down")


def test_held_mails_are_queued_again_and_delivered_once_the_broker_is_back(
    smtp: SmtpServer, eager_tasks: None, db: None
) -> None:
    for n in range(3):
        hold(n)
    assert held_emails_requeue(batch=2) == 3  # more than one batch
    assert not HeldEmail.objects.exists()
    for n in range(3):
        [received] = smtp.wait_for(f"held{n}@example.com", timeout=10)
        assert received["Subject"] == f"held {n}"


def test_held_mails_stay_while_the_broker_still_refuses(monkeypatch: pytest.MonkeyPatch, db: None) -> None:
    hold(0)
    hold(1)
    queued: list[dict[str, Any]] = []

    def second_refused(*args: Any, kwargs: dict[str, Any], **options: Any) -> None:
        if queued:
            raise ConnectionError("broker down")
        queued.append(kwargs["message"])

    monkeypatch.setattr(email_send_task, "apply_async", second_refused)
    assert held_emails_requeue() == 1
    assert [m["subject"] for m in queued] == ["held 0"]
    assert [h.subject for h in HeldEmail.objects.all()] == ["held 1"]  # the queued one went, once
    monkeypatch.setattr(email_send_task, "apply_async", refuse)
    assert held_emails_requeue() == 0
    assert HeldEmail.objects.count() == 1


def test_the_held_mail_job_is_declared() -> None:
    [job] = [job for job in periodic_jobs() if job.name == "held mail requeue"]
    assert job.task == held_emails_requeue_task.name


def test_a_text_only_message_gets_the_html_layout_with_the_product_name() -> None:
    email = OutgoingEmail.from_message(
        EmailMessage("Cat Feeder: changed", "Go to https://example.com/a", to=["a@x.io"])
    )
    assert email.text == "Go to https://example.com/a"
    assert "Cat Feeder" in email.html
    assert '<a href="https://example.com/a"' in email.html


def test_the_admin_lists_held_mails_without_their_bodies(admin_client: Any) -> None:
    hold(0)
    held = HeldEmail.objects.get()
    listing = admin_client.get("/admin/notifications/heldemail/").content.decode()
    page = admin_client.get(f"/admin/notifications/heldemail/{held.pk}/change/").content.decode()
    for html in (listing, page):
        assert "held 0" in html
        assert "held0@example.com" in html
        assert "mail 0" not in html
