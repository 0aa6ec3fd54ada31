"""Changing the address: the new one is mailed a code and replaces the old once it is typed in."""

from __future__ import annotations

import re
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.test import Client

from apps.accounts.models import User
from apps.accounts.selectors import user_email_verified
from apps.accounts.tests.factories import PASSWORD
from apps.notifications import services
from apps.notifications.services import OutgoingEmail
from conftest import unique_ip

pytestmark = pytest.mark.django_db


@pytest.fixture
def outbox(monkeypatch: pytest.MonkeyPatch) -> list[OutgoingEmail]:
    """What would have been handed to the mail worker (tests/ runs the real one)."""
    sent: list[OutgoingEmail] = []
    monkeypatch.setattr(services, "_email_enqueue", sent.append)
    return sent


def test_a_new_address_replaces_the_old_once_confirmed(
    alice: User, outbox: list[OutgoingEmail], django_capture_on_commit_callbacks: Any
) -> None:
    client = Client()
    client.post("/accounts/login/", {"login": alice.email, "password": PASSWORD}, REMOTE_ADDR=unique_ip())

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/accounts/email/", {"action_add": "", "email": "alice@new.example.com"})
    assert response["Location"] == "/accounts/confirm-email/"  # the page that asks for the code
    alice.refresh_from_db()
    assert alice.email == "alice@example.com"  # not before the code

    [mail] = [m for m in outbox if m.to == ["alice@new.example.com"]]
    assert mail.subject == "Cat Feeder: Confirm your e-mail address"
    code = re.search(r"Your code: (\S+)", mail.text)
    assert code
    assert client.post("/accounts/confirm-email/", {"code": "WRONG1"}).status_code == 200  # the form again
    assert client.post("/accounts/confirm-email/", {"code": code.group(1)}).status_code == 302

    alice.refresh_from_db()
    assert alice.email == "alice@new.example.com"
    assert user_email_verified(user=alice)
    assert list(EmailAddress.objects.filter(user=alice).values_list("email", flat=True)) == ["alice@new.example.com"]
