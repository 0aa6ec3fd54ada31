from __future__ import annotations

import pytest

from apps.accounts.models import User
from apps.households.errors import HouseholdNotFound, LastOwner, MemberNotFound, RoleForbidden
from apps.households.models import Membership
from apps.households.roles import Role
from apps.households.selectors import household_list, membership_require
from apps.households.services import (
    household_create,
    household_for_write,
    household_leave,
    member_remove,
    member_role_set,
)
from apps.households.tests.factories import household_of, member_add


def test_a_new_household_has_its_maker_as_owner(alice: User) -> None:
    household = household_create(user=alice)
    assert household.name == "Alice's household"
    assert list(household_list(user=alice).values_list("pk", "role")) == [(household.pk, Role.OWNER)]


def test_the_role_check_is_404_for_a_stranger_and_403_for_a_small_role(alice: User, bob: User, charlie: User) -> None:
    household = household_of(alice)
    member_add(household, bob, Role.VIEWER)
    with pytest.raises(HouseholdNotFound):
        membership_require(user=charlie, household_id=household.pk, role=Role.VIEWER)
    with pytest.raises(RoleForbidden) as refused:
        membership_require(user=bob, household_id=household.pk, role=Role.MEMBER)
    assert refused.value.status == 403
    assert membership_require(user=bob, household_id=household.pk, role=Role.VIEWER).role == Role.VIEWER
    assert membership_require(user=alice, household_id=household.pk, role=Role.OWNER).role == Role.OWNER


def test_writes_go_to_the_oldest_membership_unless_one_is_named(alice: User, bob: User) -> None:
    own = household_of(bob)
    alices = household_of(alice)
    member_add(alices, bob)
    assert household_for_write(user=bob, household_id=None) == own
    assert household_for_write(user=bob, household_id=alices.pk) == alices


def test_a_user_in_no_household_gets_one_on_their_first_write(charlie: User) -> None:
    household = household_for_write(user=charlie, household_id=None)
    assert Membership.objects.get(household=household).user == charlie


def test_only_an_owner_changes_roles_and_the_last_owner_stays(alice: User, bob: User) -> None:
    household = household_of(alice)
    member_add(household, bob)
    with pytest.raises(RoleForbidden):
        member_role_set(user=bob, household_id=household.pk, member_id=alice.pk, role=Role.VIEWER)
    with pytest.raises(LastOwner):
        member_role_set(user=alice, household_id=household.pk, member_id=alice.pk, role=Role.MEMBER)
    member_role_set(user=alice, household_id=household.pk, member_id=bob.pk, role=Role.OWNER)
    member_role_set(user=alice, household_id=household.pk, member_id=alice.pk, role=Role.VIEWER)
    assert dict(Membership.objects.values_list("user__email", "role")) == {
        "alice@example.com": Role.VIEWER,
        "bob@example.com": Role.OWNER,
    }


def test_the_last_owner_cannot_leave_but_a_member_can(alice: User, bob: User) -> None:
    household = household_of(alice)
    member_add(household, bob)
    with pytest.raises(LastOwner) as refused:
        household_leave(user=alice, household_id=household.pk)
    assert refused.value.status == 409
    household_leave(user=bob, household_id=household.pk)
    assert list(Membership.objects.values_list("user", flat=True)) == [alice.pk]


def test_an_owner_removes_a_member_and_nobody_else_may(alice: User, bob: User, charlie: User) -> None:
    household = household_of(alice)
    member_add(household, bob)
    with pytest.raises(HouseholdNotFound):
        member_remove(user=charlie, household_id=household.pk, member_id=bob.pk)
    with pytest.raises(RoleForbidden):
        member_remove(user=bob, household_id=household.pk, member_id=alice.pk)
    with pytest.raises(MemberNotFound):
        member_remove(user=alice, household_id=household.pk, member_id=charlie.pk)
    member_remove(user=alice, household_id=household.pk, member_id=bob.pk)
    assert not Membership.objects.filter(user=bob).exists()
