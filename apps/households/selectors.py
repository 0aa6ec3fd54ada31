"""Which households a user is in, and the one membership check every domain read and write uses.

Reads scope rows by membership with `member_of` (a subquery in the same statement, no query of its own); writes ask for
a role with `membership_require`. A household the user is not in is a 404 (as any row of
another household is), a role that may not is a 403.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db.models import F, Q, QuerySet
from django.utils import timezone

from apps.accounts.models import User
from apps.households.errors import HouseholdNotFound, RoleForbidden
from apps.households.models import Household, Invitation, InvitationStatus, Membership
from apps.households.roles import Role


def member_of(user: User, *, path: str = "household") -> Q:
    """Rows whose household (reached by `path`) has `user` as a member: the one tenancy filter.

    `household_id IN (the user's households)`, not a join through the households table: the
    query reads the user's memberships by their index and the rows by their household's.
    """
    return Q(**{f"{path}__in": Membership.objects.filter(user=user).values("household_id")})


def household_list(*, user: User) -> QuerySet[Household]:
    """The user's households, each with the user's `role`, oldest membership first."""
    return (
        Household.objects.filter(memberships__user=user)
        .annotate(role=F("memberships__role"), joined_at=F("memberships__created_at"))
        .order_by("memberships__created_at", "memberships__id")
    )


def household_ids(*, user_ids: Iterable[int] | QuerySet[Any]) -> set[int]:
    """The households these users are in (a list of ids, or a query of them)."""
    return set(Membership.objects.filter(user_id__in=user_ids).values_list("household_id", flat=True))


def household_default(*, user: User) -> Household | None:
    """The household a write goes to when none is named: the user's oldest membership's."""
    return household_list(user=user).first()


def membership_get(*, user: User, household_id: int) -> Membership:
    found = Membership.objects.select_related("household").filter(user=user, household_id=household_id).first()
    if found is None:
        raise HouseholdNotFound
    return found


def membership_require(*, user: User, household_id: int, role: Role) -> Membership:
    """The user's membership of the household if their role allows what `role` may do.

    Raises HouseholdNotFound (404) when they are not a member, RoleForbidden (403) when the
    role is too small. The one copy of the role rule.
    """
    membership = membership_get(user=user, household_id=household_id)
    if not Role(membership.role).allows(role):
        raise RoleForbidden(role=membership.role, needed=role.value)
    return membership


def member_list(*, user: User, household_id: int) -> QuerySet[Membership]:
    """The members of one of the user's households (any member may see who else is in it)."""
    membership_get(user=user, household_id=household_id)
    return Membership.objects.filter(household_id=household_id).select_related("user")


def member_user_ids(*, household_id: int) -> list[int]:
    return list(Membership.objects.filter(household_id=household_id).values_list("user_id", flat=True))


def household_get(*, user: User, household_id: int) -> Household:
    found = household_list(user=user).filter(pk=household_id).first()
    if found is None:
        raise HouseholdNotFound
    return found


def row_role_require(*, user: User, household_id: int, role: Role) -> None:
    """The role check for a row already read through `member_of` (membership proved by that read):
    no query for a read, one for a write."""
    if role != Role.VIEWER:
        membership_require(user=user, household_id=household_id, role=role)


def household_readers(*, household_id: int) -> list[User]:
    """Who hears of the household's alerts: every member, whatever their role; its first owner first
    (a household always has one), then by membership age."""
    members = Membership.objects.filter(household_id=household_id).select_related("user")
    first_owners = sorted(members, key=lambda m: (m.role != Role.OWNER, m.created_at, m.pk))
    return [membership.user for membership in first_owners]


def household_contact(*, household_id: int) -> User:
    """The household's first owner."""
    return household_readers(household_id=household_id)[0]


def invitation_list(*, user: User, household_id: int) -> QuerySet[Invitation]:
    """A household's invitations, newest first: for its owners."""
    membership_require(user=user, household_id=household_id, role=Role.OWNER)
    return Invitation.objects.filter(household_id=household_id)


def invitation_list_mine(*, user: User, now: dt.datetime | None = None) -> QuerySet[Invitation]:
    """The live invitations to the user's address, waiting for an answer."""
    return Invitation.objects.filter(
        email__iexact=user.email, status=InvitationStatus.PENDING, expires_at__gt=now or timezone.now()
    ).select_related("household")
