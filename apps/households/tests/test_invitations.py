"""Invitations by e-mail: a code mailed to the address, working once, for that verified address
only, until it expires (7 days unless said otherwise) or is revoked."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
import time_machine
from django.test import Client

from apps.accounts.models import User
from apps.accounts.tests.factories import UserFactory
from apps.households.models import Invitation, InvitationStatus, Membership
from apps.households.roles import Role
from apps.households.tests.factories import household_of
from apps.notifications import services as mail_services
from apps.notifications.services import OutgoingEmail

JSON = "application/json"


@pytest.fixture
def outbox(monkeypatch: pytest.MonkeyPatch) -> list[OutgoingEmail]:
    """What would have been handed to the mail worker."""
    sent: list[OutgoingEmail] = []
    monkeypatch.setattr(mail_services, "_email_enqueue", sent.append)
    return sent


def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def invite(alice: User, email: str, capture: Any, role: str = "member", **extra: Any) -> tuple[dict[str, Any], Client]:
    as_alice = logged_in(alice)
    household = household_of(alice)
    with capture(execute=True):
        response = as_alice.post(
            f"/api/households/{household.pk}/invitations", {"email": email, "role": role, **extra}, content_type=JSON
        )
    assert response.status_code == 201, response.content
    return response.json(), as_alice


def test_the_invitee_gets_the_code_by_mail_and_joins_with_its_role(
    alice: User, bob: User, outbox: list[OutgoingEmail], django_capture_on_commit_callbacks: Any
) -> None:
    created, _ = invite(alice, "bob@example.com", django_capture_on_commit_callbacks, role="viewer")
    [mail] = outbox
    assert mail.to == ["bob@example.com"]
    assert created["code"] in mail.text
    assert f"http://testserver/invitations/?code={created['code']}" in mail.text  # the accept page, for a person
    assert re.fullmatch(r"[A-Z2-9]{5}-[A-Z2-9]{5}", created["code"])
    as_bob = logged_in(bob)
    assert [i["household_name"] for i in as_bob.get("/api/invitations").json()] == ["Alice's household"]
    joined = as_bob.post("/api/invitations/accept", {"code": created["code"].lower()}, content_type=JSON)
    assert (joined.status_code, joined.json()["role"]) == (200, "viewer")
    assert Membership.objects.get(user=bob).role == Role.VIEWER
    again = as_bob.post("/api/invitations/accept", {"code": created["code"]}, content_type=JSON)
    assert again.status_code == 404  # single use
    assert as_bob.get("/api/invitations").json() == []


def test_only_the_invited_verified_address_may_accept(
    alice: User, charlie: User, outbox: list[OutgoingEmail], django_capture_on_commit_callbacks: Any
) -> None:
    created, _ = invite(alice, "dora@example.com", django_capture_on_commit_callbacks)
    code = {"code": created["code"]}
    assert logged_in(charlie).post("/api/invitations/accept", code, content_type=JSON).status_code == 404
    dora = UserFactory(email="dora@example.com", email_verified=False)
    refused = logged_in(dora).post("/api/invitations/accept", code, content_type=JSON)
    assert (refused.status_code, refused.json()["type"]) == (403, "urn:catfeeder:problem:email-unverified")
    assert not Membership.objects.filter(user__in=[charlie, dora]).exists()
    assert Invitation.objects.get().status == InvitationStatus.PENDING


def test_an_invitation_expires_after_seven_days_by_default(
    alice: User, bob: User, outbox: list[OutgoingEmail], django_capture_on_commit_callbacks: Any
) -> None:
    created, _ = invite(alice, "bob@example.com", django_capture_on_commit_callbacks)
    expires = dt.datetime.fromisoformat(created["expires_at"])
    assert expires - dt.datetime.fromisoformat(created["created_at"]) == pytest.approx(
        dt.timedelta(days=7), abs=dt.timedelta(minutes=1)
    )
    with time_machine.travel(expires + dt.timedelta(seconds=1)):
        late = logged_in(bob).post("/api/invitations/accept", {"code": created["code"]}, content_type=JSON)
    assert late.status_code == 404
    assert not Membership.objects.filter(user=bob).exists()


def test_a_revoked_or_declined_invitation_works_no_more(
    alice: User, bob: User, outbox: list[OutgoingEmail], django_capture_on_commit_callbacks: Any
) -> None:
    first, as_alice = invite(alice, "bob@example.com", django_capture_on_commit_callbacks)
    household = household_of(alice)
    url = f"/api/households/{household.pk}/invitations/{first['id']}"
    assert logged_in(bob).delete(url).status_code == 404  # not bob's household to manage
    assert as_alice.delete(url).status_code == 204
    assert as_alice.delete(url).status_code == 409  # revoked already
    as_bob = logged_in(bob)
    assert as_bob.post("/api/invitations/accept", {"code": first["code"]}, content_type=JSON).status_code == 404
    second, _ = invite(alice, "bob@example.com", django_capture_on_commit_callbacks)
    assert as_bob.post("/api/invitations/decline", {"code": second["code"]}, content_type=JSON).status_code == 204
    assert as_bob.post("/api/invitations/accept", {"code": second["code"]}, content_type=JSON).status_code == 404
    statuses = [i["status"] for i in as_alice.get(f"/api/households/{household.pk}/invitations").json()]
    assert statuses == ["declined", "revoked"]
    assert not Membership.objects.filter(user=bob).exists()


def test_only_owners_invite_and_a_bad_address_is_a_422(alice: User, bob: User, outbox: list[OutgoingEmail]) -> None:
    household = household_of(alice)
    Membership.objects.create(household=household, user=bob, role=Role.MEMBER)
    url = f"/api/households/{household.pk}/invitations"
    body = {"email": "dora@example.com"}
    assert logged_in(bob).post(url, body, content_type=JSON).status_code == 403
    bad = logged_in(alice).post(url, {"email": "not an address"}, content_type=JSON)
    assert bad.status_code == 422
    assert logged_in(alice).post(url, {**body, "expires_in_days": 0}, content_type=JSON).status_code == 422
    assert not Invitation.objects.exists()
    assert outbox == []
