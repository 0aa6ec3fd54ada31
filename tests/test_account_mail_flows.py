"""Sign-up verification and password reset, end to end: the mail is sent by a
real Celery worker to a real SMTP server on loopback, and the test types in
the code or follows the link it carries."""

from __future__ import annotations

import re
import uuid

from django.test import Client

from apps.accounts.models import User
from apps.accounts.selectors import user_email_verified
from apps.accounts.tests.factories import PASSWORD, UserFactory
from catfeeder.testing import wait_until
from conftest import unique_ip
from tests.conftest import Mail
from tests.support.smtp import parts

NEW_PASSWORD = "a-new-horse-battery-42"  # noqa: S105 - a test password


def link_in(text: str) -> str:
    match = re.search(r"http://testserver(/accounts/\S+)", text)
    assert match, text
    return match.group(1)


def code_in(text: str) -> str:
    match = re.search(r"Your code: (\S+)", text)
    assert match, text
    return match.group(1)


def new_address(name: str) -> str:
    """allauth sends one verification mail per address per 3 minutes, counted in Redis,
    which outlives a run: each run signs up addresses of its own."""
    return f"{name}-{uuid.uuid4().hex[:12]}@example.com"


def sign_up(client: Client, email: str) -> None:
    response = client.post(
        "/accounts/signup/",
        {"email": email, "password1": PASSWORD, "password2": PASSWORD},
        REMOTE_ADDR=unique_ip(),
    )
    assert response.status_code == 302, response.content.decode()


def test_sign_up_mails_a_code_that_verifies_the_address_and_logs_in(mail: Mail) -> None:
    client, address = Client(), new_address("dora")
    sign_up(client, address)
    dora = User.objects.get(email=address)
    assert not user_email_verified(user=dora)
    assert client.get("/api/me").status_code == 401  # not logged in before the code

    [message] = mail.smtp.wait_for(address)
    text, html = parts(message)
    assert message["Subject"] == "Cat Feeder: Confirm your e-mail address"
    assert "Cat Feeder" in text
    assert "Cat Feeder" in html
    code = code_in(text)
    assert code in html

    assert client.get("/accounts/confirm-email/").status_code == 200
    assert client.post("/accounts/confirm-email/", {"code": code}).status_code == 302
    assert user_email_verified(user=dora)
    assert client.get("/api/me").json()["email_verified"] is True


def test_a_password_reset_mail_link_sets_a_new_password(mail: Mail) -> None:
    # An address of its own: reset mails are limited per address in Redis, which outlives the run.
    rita = UserFactory(email=f"rita-{uuid.uuid4().hex[:12]}@example.com")
    client = Client()
    response = client.post("/accounts/password/reset/", {"email": rita.email}, REMOTE_ADDR=unique_ip())
    assert response.status_code == 302

    [message] = mail.smtp.wait_for(rita.email)
    text, html = parts(message)
    assert message["Subject"] == "Cat Feeder: Reset your password"
    assert "one hour" in text
    link = link_in(text)
    assert link in html

    form_page = client.get(link, follow=True)  # the key moves to the session, then to a form
    assert form_page.status_code == 200
    set_password_url = form_page.redirect_chain[-1][0]
    done = client.post(set_password_url, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert done.status_code == 302

    rita.refresh_from_db()
    assert rita.check_password(NEW_PASSWORD)
    assert client.get(link, follow=True).context["token_fail"]  # the link works only once


def test_sign_up_succeeds_while_smtp_is_down_and_the_mail_arrives_once_it_is_back(mail: Mail) -> None:
    mail.smtp.stop()
    client, address = Client(), new_address("eve")
    sign_up(client, address)  # no 500: the request never talks to SMTP
    assert User.objects.filter(email=address).exists()

    wait_until(lambda: f"to {address} failed (try 1" in mail.worker.output(), timeout=60, what="a failed try logged")
    mail.smtp.start()
    [message] = mail.smtp.wait_for(address, timeout=90)
    assert code_in(parts(message)[0])
    # The worker logs the send once the SMTP exchange has ended, a moment after the server has the mail.
    sent = f"sent mail 'Cat Feeder: Confirm your e-mail address' to {address}"
    wait_until(lambda: sent in mail.worker.output(), timeout=30, what="the send logged")
