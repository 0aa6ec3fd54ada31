"""The households' pages through Django's test client: the switcher, the members page and its owners'
forms, the page an invitation mail links to."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.utils import timezone
from django.utils.html import escape

from apps.accounts.models import User
from apps.accounts.tests.factories import UserFactory
from apps.api.types import BIGINT_MAX
from apps.feeders.models import Pet
from apps.feeders.tests.factories import FeederFactory, PetFactory
from apps.households.models import Household, Invitation, InvitationStatus, Membership
from apps.households.roles import Role
from apps.households.services import household_create, invitation_create
from apps.households.tests.factories import household_of, member_add
from apps.notifications import services as mail_services
from apps.notifications.services import OutgoingEmail
from apps.web.current import SESSION_KEY

pytestmark = pytest.mark.django_db


@pytest.fixture
def outbox(monkeypatch: pytest.MonkeyPatch) -> list[OutgoingEmail]:
    """What would have been handed to the mail worker."""
    sent: list[OutgoingEmail] = []
    monkeypatch.setattr(mail_services, "_email_enqueue", sent.append)
    return sent


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def html(client: Client, path: str, status: int = 200) -> str:
    response = client.get(path)
    assert response.status_code == status, response.content.decode()[:2000]
    return response.content.decode()


@pytest.fixture
def shared(alice: User, bob: User) -> Household:
    """Bob's own household (his default: his oldest), and alice's, which he is a member of."""
    bobs = household_of(bob)
    PetFactory(household=bobs, name="Rex")
    alices = household_of(alice)
    PetFactory(household=alices, name="Miso")
    member_add(alices, bob, Role.MEMBER)
    return alices


# -- the switcher ---------------------------------------------------------------------------------
def test_the_pages_show_the_default_household_until_another_is_picked(bob: User, shared: Household) -> None:
    client = client_for(bob)
    pets = html(client, "/pets/")
    assert "Rex" in pets
    assert "Miso" not in pets
    assert 'id="household-choice"' in pets  # two households: a menu

    response = client.post("/households/switch/", {"household": shared.pk, "next": "/pets/"})
    assert (response.status_code, response["Location"]) == (302, "/pets/")
    pets = html(client, "/pets/")
    assert "Miso" in pets
    assert "Rex" not in pets
    assert client.session[SESSION_KEY] == shared.pk
    assert 'name="next" value="/pets/"' in pets


def test_switching_from_a_rows_page_lands_on_the_dashboard(bob: User, shared: Household) -> None:
    client = client_for(bob)
    rex = Pet.objects.get(name="Rex")
    assert 'name="next"' not in html(client, f"/pets/{rex.pk}/")  # the row belongs to the household shown
    response = client.post("/households/switch/", {"household": shared.pk})
    assert (response.status_code, response["Location"]) == (302, "/")


def test_a_new_row_from_the_pages_goes_to_the_household_shown(bob: User, shared: Household) -> None:
    client = client_for(bob)
    client.post("/households/switch/", {"household": shared.pk})
    data = {"name": "Kit", "allowance_grams": 50, "period_minutes": 1440, "period_anchor": "00:00", "time_zone": "UTC"}
    assert client.post("/pets/new/", data).status_code == 302
    assert Pet.objects.get(name="Kit").household_id == shared.pk


def test_a_household_left_falls_back_to_the_default(bob: User, shared: Household) -> None:
    client = client_for(bob)
    client.post("/households/switch/", {"household": shared.pk})
    Membership.objects.filter(household=shared, user=bob).delete()  # removed by its owner meanwhile
    pets = html(client, "/pets/")
    assert "Rex" in pets
    assert "Miso" not in pets


@pytest.mark.parametrize("household", ["stranger", "nonsense", str(BIGINT_MAX + 1)])
def test_switching_to_a_household_not_mine_is_a_404_and_changes_nothing(
    household: str, bob: User, charlie: User, shared: Household
) -> None:
    if household == "stranger":
        household = str(household_of(charlie).pk)
    client = client_for(bob)
    assert client.post("/households/switch/", {"household": household}).status_code == 404
    assert SESSION_KEY not in client.session


# -- the members page -----------------------------------------------------------------------------
def test_an_owner_invites_and_sees_the_code_once_and_the_mail_links_the_accept_page(
    alice: User, outbox: list[OutgoingEmail], django_capture_on_commit_callbacks: Any
) -> None:
    household = household_of(alice)
    client = client_for(alice)
    page = html(client, f"/households/{household.pk}/")
    assert "Invite someone" in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/households/{household.pk}/invitations/", {"email": "Dora@Example.COM", "role": "viewer", "days": 3}
        )
    assert response.status_code == 200
    code = re.search(r"data-invitation-code[^>]*>([A-Z2-9]{5}-[A-Z2-9]{5})<", response.content.decode())
    assert code, response.content.decode()
    invitation = Invitation.objects.get(household=household)
    assert (invitation.email, invitation.role) == ("Dora@example.com", Role.VIEWER)
    [mail] = outbox
    assert f"http://testserver/invitations/?code={code.group(1)}" in mail.text
    assert code.group(1) not in html(client, f"/households/{household.pk}/")  # shown once


def test_a_bad_invitation_is_refused_next_to_its_field_and_nothing_is_sent(
    alice: User, outbox: list[OutgoingEmail]
) -> None:
    household = household_of(alice)
    response = client_for(alice).post(
        f"/households/{household.pk}/invitations/", {"email": "not an address", "role": "viewer", "days": 99}
    )
    assert response.status_code == 422
    assert "Enter a valid email address" in response.content.decode()
    assert not Invitation.objects.exists()
    assert outbox == []


def test_an_owner_revokes_changes_a_role_and_removes_a_member(alice: User, bob: User, charlie: User) -> None:
    household = household_of(alice)
    member_add(household, bob, Role.MEMBER)
    member_add(household, charlie, Role.VIEWER)
    invitation, _ = invitation_create(user=alice, household_id=household.pk, email="dora@example.com", role=Role.MEMBER)
    client = client_for(alice)
    base = f"/households/{household.pk}"
    assert client.post(f"{base}/invitations/{invitation.pk}/revoke/").status_code == 302
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.REVOKED
    again = client.post(f"{base}/invitations/{invitation.pk}/revoke/")
    assert again.status_code == 409
    assert "This invitation is revoked already." in again.content.decode()

    assert client.post(f"{base}/members/{charlie.pk}/role/", {f"m{charlie.pk}-role": "member"}).status_code == 302
    assert Membership.objects.get(household=household, user=charlie).role == Role.MEMBER
    assert client.post(f"{base}/members/{bob.pk}/remove/").status_code == 302
    assert not Membership.objects.filter(household=household, user=bob).exists()


def test_the_last_owner_cannot_leave_and_the_page_says_why(alice: User, bob: User) -> None:
    household = household_of(alice)
    member_add(household, bob, Role.MEMBER)
    response = client_for(alice).post(f"/households/{household.pk}/leave/")
    assert response.status_code == 409
    assert "A household needs at least one owner" in response.content.decode()
    assert Membership.objects.filter(household=household, user=alice).exists()

    left = client_for(bob).post(f"/households/{household.pk}/leave/")  # anyone else may
    assert (left.status_code, left["Location"]) == (302, "/")
    assert not Membership.objects.filter(household=household, user=bob).exists()


@pytest.mark.parametrize("role", [Role.MEMBER, Role.VIEWER])
def test_a_member_or_viewer_sees_no_owner_forms_and_their_posts_are_403(
    role: Role, alice: User, bob: User, charlie: User
) -> None:
    household = household_of(alice)
    member_add(household, bob, role)
    member_add(household, charlie, Role.VIEWER)
    client = client_for(bob)
    page = html(client, f"/households/{household.pk}/")
    assert "charlie@example.com" in page
    assert "Invite someone" not in page
    assert f"/members/{charlie.pk}/remove/" not in page
    base = f"/households/{household.pk}"
    invite = {"email": "eve@example.com", "role": "owner", "days": 7}
    assert client.post(f"{base}/invitations/", invite).status_code == 403
    assert client.post(f"{base}/members/{charlie.pk}/remove/").status_code == 403
    assert client.post(f"{base}/members/{bob.pk}/role/", {f"m{bob.pk}-role": "owner"}).status_code == 403
    assert not Invitation.objects.exists()
    assert Membership.objects.filter(household=household).count() == 3
    assert Membership.objects.get(household=household, user=bob).role == role


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", "/households/{id}/"), ("post", "/households/{id}/leave/"),
     ("post", "/households/{id}/members/{alice}/remove/"), ("post", "/households/{id}/invitations/")],
)  # fmt: skip
def test_a_stranger_finds_no_household_page(method: str, path: str, alice: User, charlie: User) -> None:
    household = household_of(alice)
    client = client_for(charlie)
    for household_id in (household.pk, BIGINT_MAX + 1):
        url = path.format(id=household_id, alice=alice.pk)
        data = {"email": "eve@example.com", "role": "owner", "days": 7}
        assert getattr(client, method)(url, data).status_code == 404, url
    assert Membership.objects.filter(household=household).count() == 1
    assert not Invitation.objects.exists()


# -- the invitation's page ------------------------------------------------------------------------
def invited(alice: User, email: str, role: Role = Role.MEMBER) -> tuple[Household, str]:
    household = household_of(alice)
    _, code = invitation_create(user=alice, household_id=household.pk, email=email, role=role)
    return household, code


def test_the_invitee_accepts_on_the_linked_page_and_then_sees_the_household(alice: User, bob: User) -> None:
    household, code = invited(alice, bob.email, Role.VIEWER)
    household_create(user=bob)  # his own, his oldest membership: his default
    client = client_for(bob)
    page = html(client, f"/invitations/?code={code}")
    assert f'value="{code}"' in page
    assert escape(household.name) in page  # the invitations to his address
    response = client.post("/invitations/", {"code": code, "answer": "accept"})
    assert (response.status_code, response["Location"]) == (302, "/")
    assert Membership.objects.get(household=household, user=bob).role == Role.VIEWER
    assert client.session[SESSION_KEY] == household.pk  # the pages show the household just joined


def test_an_unverified_address_is_told_to_verify_and_does_not_join(alice: User) -> None:
    dora = UserFactory(email="dora@example.com", email_verified=False)
    household, code = invited(alice, dora.email)
    response = client_for(dora).post("/invitations/", {"code": code, "answer": "accept"})
    assert response.status_code == 403
    assert "Verify your e-mail address before accepting an invitation." in response.content.decode()
    assert not Membership.objects.filter(household=household, user=dora).exists()


@pytest.mark.parametrize(
    ("code", "status"), [("ABCDE-FGHJK", 404), ("x" * 32, 404), ("x" * 33, 422), ("ABCDE\x00FGHJK", 422)]
)
def test_an_unknown_or_malformed_code_is_refused_on_the_page(code: str, status: int, alice: User, bob: User) -> None:
    invited(alice, bob.email)
    response = client_for(bob).post("/invitations/", {"code": code, "answer": "accept"})
    assert response.status_code == status
    if status == 404:
        assert "No such invitation: it is unknown, used, revoked or expired." in response.content.decode()
    assert not Membership.objects.filter(user=bob).exists()


def test_an_expired_invitation_is_a_404_on_the_page(alice: User, bob: User) -> None:
    household, code = invited(alice, bob.email)
    with time_machine.travel(timezone.now() + dt.timedelta(days=8)):
        response = client_for(bob).post("/invitations/", {"code": code, "answer": "accept"})
    assert response.status_code == 404
    assert "No such invitation" in response.content.decode()
    assert not Membership.objects.filter(household=household, user=bob).exists()


def test_declining_answers_the_invitation_and_joins_nothing(alice: User, bob: User) -> None:
    household, code = invited(alice, bob.email)
    assert client_for(bob).post("/invitations/", {"code": code, "answer": "decline"}).status_code == 302
    assert Invitation.objects.get(household=household).status == InvitationStatus.DECLINED
    assert not Membership.objects.filter(household=household, user=bob).exists()


def test_someone_elses_invitation_is_a_404_for_charlie(alice: User, bob: User, charlie: User) -> None:
    household, code = invited(alice, bob.email)
    FeederFactory(household=household)
    response = client_for(charlie).post("/invitations/", {"code": code, "answer": "accept"})
    assert response.status_code == 404
    assert "No such invitation" in response.content.decode()
    assert not Membership.objects.filter(household=household, user=charlie).exists()
