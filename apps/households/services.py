"""Households' writes: making one, the role of a member, removing a member, leaving.

A member removed (or who leaves) loses access at once: their next call finds no row of the
household (404), and their open sockets stop listening to its group (the LEFT event to the
user's own group, after commit).
"""

from __future__ import annotations

from django.db import transaction

from apps.accounts.models import User
from apps.api.messages import owner_group
from apps.api.messages.publish import group_event
from apps.households import groups
from apps.households.errors import LastOwner, MemberNotFound
from apps.households.models import Household, Membership
from apps.households.roles import Role
from apps.households.selectors import household_default, membership_get, membership_require

NAME_MAX = Household._meta.get_field("name").max_length


def household_name_for(user: User) -> str:
    who = user.name or user.email.split("@", 1)[0]
    return f"{who}'s household"[:NAME_MAX]


@transaction.atomic
def household_create(*, user: User, name: str | None = None) -> Household:
    """A new household with `user` as its owner."""
    household = Household.objects.create(name=(name or household_name_for(user))[:NAME_MAX])
    Membership.objects.create(household=household, user=user, role=Role.OWNER)
    group_event(owner_group(user.pk), {"type": groups.JOINED, "household_id": household.pk})
    return household


def household_for_write(*, user: User, household_id: int | None, role: Role = Role.MEMBER) -> Household:
    """The household a new row goes to: the one named, else the user's default, checked for `role`.

    A user in no household (made by an admin, or who left them all) gets one of their own.
    """
    if household_id is None:
        default = household_default(user=user)
        if default is None:
            return household_create(user=user)
        household_id = default.pk
    return membership_require(user=user, household_id=household_id, role=role).household


@transaction.atomic
def household_update(*, user: User, household_id: int, name: str) -> Household:
    household = membership_require(user=user, household_id=household_id, role=Role.OWNER).household
    household.name = name
    household.save(update_fields=["name"])
    return household


def _owners_left(household_id: int, *, without: int) -> bool:
    # Every owner row locked: two owners leaving at once cannot both see the other one stay.
    owners = Membership.objects.select_for_update().filter(household_id=household_id, role=Role.OWNER)
    return any(user_id != without for user_id in owners.values_list("user_id", flat=True))


@transaction.atomic
def member_role_set(*, user: User, household_id: int, member_id: int, role: Role) -> Membership:
    """An owner changes a member's role; the last owner may not step down (409)."""
    membership_require(user=user, household_id=household_id, role=Role.OWNER)
    member = _member(household_id=household_id, member_id=member_id)
    if member.role == Role.OWNER and role != Role.OWNER and not _owners_left(household_id, without=member.user_id):
        raise LastOwner
    member.role = role
    member.save(update_fields=["role"])
    return member


@transaction.atomic
def member_remove(*, user: User, household_id: int, member_id: int) -> None:
    """An owner removes a member (themselves too, as long as another owner stays)."""
    membership_require(user=user, household_id=household_id, role=Role.OWNER)
    _leave(_member(household_id=household_id, member_id=member_id))


@transaction.atomic
def household_leave(*, user: User, household_id: int) -> None:
    """Any member leaves; the last owner may not (409): another must be made owner first."""
    _leave(membership_get(user=user, household_id=household_id))


def _member(*, household_id: int, member_id: int) -> Membership:
    member = Membership.objects.select_for_update().filter(household_id=household_id, user_id=member_id).first()
    if member is None:
        raise MemberNotFound
    return member


def _leave(member: Membership) -> None:
    if member.role == Role.OWNER and not _owners_left(member.household_id, without=member.user_id):
        raise LastOwner
    member.delete()
    group_event(owner_group(member.user_id), {"type": groups.LEFT, "household_id": member.household_id})
