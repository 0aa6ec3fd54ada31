from __future__ import annotations

import uuid

from django.test import Client

from apps.accounts.models import User
from apps.accounts.tests.factories import PASSWORD
from apps.households.models import Membership
from apps.households.roles import Role
from apps.households.tests.factories import household_of, member_add
from conftest import unique_ip


def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_sign_up_makes_the_new_users_household_listed_by_the_api(db: None) -> None:
    email = f"new-{uuid.uuid4().hex[:8]}@example.com"
    data = {"email": email, "password1": PASSWORD, "password2": PASSWORD}
    assert Client().post("/accounts/signup/", data, REMOTE_ADDR=unique_ip()).status_code == 302
    user = User.objects.get(email=email)
    listed = logged_in(user).get("/api/households").json()
    assert [(h["name"], h["role"]) for h in listed] == [(f"{email.split('@')[0]}'s household", "owner")]


def test_members_are_listed_to_members_only(alice: User, bob: User, charlie: User) -> None:
    household = household_of(alice)
    member_add(household, bob, Role.VIEWER)
    url = f"/api/households/{household.pk}/members"
    listed = logged_in(bob).get(url).json()
    assert [(m["email"], m["role"]) for m in listed] == [("alice@example.com", "owner"), ("bob@example.com", "viewer")]
    refused = logged_in(charlie).get(url)
    assert refused.status_code == 404
    assert refused["Content-Type"] == "application/problem+json"


def test_a_viewer_may_not_change_roles_403_and_nothing_changes(alice: User, bob: User) -> None:
    household = household_of(alice)
    member_add(household, bob, Role.VIEWER)
    url = f"/api/households/{household.pk}/members/{bob.pk}"
    refused = logged_in(bob).patch(url, {"role": "owner"}, content_type="application/json")
    assert refused.status_code == 403
    assert refused.json()["type"] == "urn:catfeeder:problem:role-forbidden"
    assert Membership.objects.get(user=bob).role == Role.VIEWER
    changed = logged_in(alice).patch(url, {"role": "member"}, content_type="application/json")
    assert changed.status_code == 200
    assert changed.json()["role"] == "member"


def test_a_bad_role_is_a_422_and_changes_nothing(alice: User, bob: User) -> None:
    household = household_of(alice)
    member_add(household, bob)
    url = f"/api/households/{household.pk}/members/{bob.pk}"
    refused = logged_in(alice).patch(url, {"role": "admin"}, content_type="application/json")
    assert refused.status_code == 422
    assert Membership.objects.get(user=bob).role == Role.MEMBER


def test_the_last_owner_cannot_leave_409_a_member_can_204(alice: User, bob: User) -> None:
    household = household_of(alice)
    member_add(household, bob)
    assert logged_in(alice).post(f"/api/households/{household.pk}/leave").status_code == 409
    assert logged_in(bob).post(f"/api/households/{household.pk}/leave").status_code == 204
    assert logged_in(bob).get(f"/api/households/{household.pk}").status_code == 404


def test_an_owner_removes_a_member(alice: User, bob: User) -> None:
    household = household_of(alice)
    member_add(household, bob)
    assert logged_in(alice).delete(f"/api/households/{household.pk}/members/{bob.pk}").status_code == 204
    assert logged_in(bob).get(f"/api/households/{household.pk}/members").status_code == 404


def test_an_owner_renames_the_household_a_member_may_not(alice: User, bob: User) -> None:
    household = household_of(alice)
    member_add(household, bob)
    url = f"/api/households/{household.pk}"
    assert logged_in(bob).patch(url, {"name": "Ours"}, content_type="application/json").status_code == 403
    renamed = logged_in(alice).patch(url, {"name": "Ours"}, content_type="application/json")
    assert (renamed.status_code, renamed.json()["name"]) == (200, "Ours")


def test_an_id_past_what_the_database_stores_is_a_422_not_a_500(alice: User) -> None:
    """SQLite raises OverflowError and PostgreSQL refuses a bigint past 2**63 - 1: the path says first."""
    household = household_of(alice)
    client = logged_in(alice)
    huge = 2**80
    for method, url in [
        ("get", f"/api/households/{huge}/members"),
        ("delete", f"/api/households/{household.pk}/invitations/{huge}"),
        ("delete", f"/api/households/{household.pk}/members/{huge}"),
    ]:
        answer = getattr(client, method)(url)
        assert answer.status_code == 422, (url, answer.content)
