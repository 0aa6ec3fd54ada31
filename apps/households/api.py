"""/api/households: my households, their members, roles, leaving. Handlers: parse, call, answer.

No `from __future__ import annotations` here: ninja reads handler annotations at run time.
"""

from typing import Any

from django.http import HttpRequest
from ninja import Router, Status

from apps.accounts.auth import owner
from apps.api.problems import responses
from apps.households import selectors, services
from apps.households.roles import Role
from apps.households.schemas import HouseholdOut, HouseholdUpdateIn, MemberOut, MemberUpdateIn

router = Router()
NO_CONTENT = responses({204: None})


@router.get("", response=responses({200: list[HouseholdOut]}), summary="My households, the default first")
def household_list(request: HttpRequest) -> Any:
    return selectors.household_list(user=owner(request))


@router.get("/{household_id}", response=responses({200: HouseholdOut}), summary="One of my households")
def household_read(request: HttpRequest, household_id: int) -> Any:
    return selectors.household_get(user=owner(request), household_id=household_id)


@router.patch("/{household_id}", response=responses({200: HouseholdOut}), summary="Rename a household (owners)")
def household_update(request: HttpRequest, household_id: int, payload: HouseholdUpdateIn) -> Any:
    user = owner(request)
    services.household_update(user=user, household_id=household_id, name=payload.name)
    return selectors.household_get(user=user, household_id=household_id)


@router.get("/{household_id}/members", response=responses({200: list[MemberOut]}), summary="Who is in it")
def member_list(request: HttpRequest, household_id: int) -> Any:
    return selectors.member_list(user=owner(request), household_id=household_id)


@router.patch(
    "/{household_id}/members/{user_id}", response=responses({200: MemberOut}), summary="Change a role (owners)"
)
def member_update(request: HttpRequest, household_id: int, user_id: int, payload: MemberUpdateIn) -> Any:
    return services.member_role_set(
        user=owner(request), household_id=household_id, member_id=user_id, role=Role(payload.role)
    )


@router.delete("/{household_id}/members/{user_id}", response=NO_CONTENT, summary="Remove a member (owners)")
def member_remove(request: HttpRequest, household_id: int, user_id: int) -> Status[None]:
    services.member_remove(user=owner(request), household_id=household_id, member_id=user_id)
    return Status(204, None)


@router.post("/{household_id}/leave", response=NO_CONTENT, summary="Leave a household (not its last owner)")
def household_leave(request: HttpRequest, household_id: int) -> Status[None]:
    services.household_leave(user=owner(request), household_id=household_id)
    return Status(204, None)
