from __future__ import annotations

from apps.accounts.models import User
from apps.households.models import Household, Membership
from apps.households.roles import Role
from apps.households.selectors import household_default
from apps.households.services import household_create


def household_of(user: User) -> Household:
    """The user's default household, made (as sign-up does) if they have none."""
    return household_default(user=user) or household_create(user=user)


def member_add(household: Household, user: User, role: Role = Role.MEMBER) -> Membership:
    return Membership.objects.create(household=household, user=user, role=role)
