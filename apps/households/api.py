"""/api/households: my households, their members, roles, leaving. Handlers: parse, call, answer.

No `from __future__ import annotations` here: ninja reads handler annotations at run time.
"""

from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from ninja import Router, Status

from apps.accounts.auth import owner
from apps.api.problems import responses
from apps.api.types import QueryRowId
from apps.households import selectors, services
from apps.households.roles import Role
from apps.households.schemas import (
    HouseholdOut,
    HouseholdUpdateIn,
    InvitationAnswerIn,
    InvitationCreatedOut,
    InvitationCreateIn,
    InvitationOut,
    MemberOut,
    MemberUpdateIn,
    MyInvitationOut,
)

router = Router()
invitations = Router()  # /api/invitations: the ones addressed to me
ACCEPT_PAGE = "web:invitation-accept"  # the page an invitation mail links: a person reads the mail
NO_CONTENT = responses({204: None})


@router.get("", response=responses({200: list[HouseholdOut]}), summary="My households, the default first")
def household_list(request: HttpRequest) -> Any:
    return selectors.household_list(user=owner(request))


@router.get("/{household_id}", response=responses({200: HouseholdOut}), summary="One of my households")
def household_read(request: HttpRequest, household_id: QueryRowId) -> Any:
    return selectors.household_get(user=owner(request), household_id=household_id)


@router.patch("/{household_id}", response=responses({200: HouseholdOut}), summary="Rename a household (owners)")
def household_update(request: HttpRequest, household_id: QueryRowId, payload: HouseholdUpdateIn) -> Any:
    user = owner(request)
    services.household_update(user=user, household_id=household_id, name=payload.name)
    return selectors.household_get(user=user, household_id=household_id)


@router.get("/{household_id}/members", response=responses({200: list[MemberOut]}), summary="Who is in it")
def member_list(request: HttpRequest, household_id: QueryRowId) -> Any:
    return selectors.member_list(user=owner(request), household_id=household_id)


@router.patch(
    "/{household_id}/members/{user_id}", response=responses({200: MemberOut}), summary="Change a role (owners)"
)
def member_update(request: HttpRequest, household_id: QueryRowId, user_id: QueryRowId, payload: MemberUpdateIn) -> Any:
    return services.member_role_set(
        user=owner(request), household_id=household_id, member_id=user_id, role=Role(payload.role)
    )


@router.delete("/{household_id}/members/{user_id}", response=NO_CONTENT, summary="Remove a member (owners)")
def member_remove(request: HttpRequest, household_id: QueryRowId, user_id: QueryRowId) -> Status[None]:
    services.member_remove(user=owner(request), household_id=household_id, member_id=user_id)
    return Status(204, None)


@router.post("/{household_id}/leave", response=NO_CONTENT, summary="Leave a household (not its last owner)")
def household_leave(request: HttpRequest, household_id: QueryRowId) -> Status[None]:
    services.household_leave(user=owner(request), household_id=household_id)
    return Status(204, None)


# -- invitations -----------------------------------------------------------------------------
@router.get(
    "/{household_id}/invitations", response=responses({200: list[InvitationOut]}), summary="Invitations (owners)"
)
def invitation_list(request: HttpRequest, household_id: QueryRowId) -> Any:
    return selectors.invitation_list(user=owner(request), household_id=household_id)


@router.post(
    "/{household_id}/invitations", response=responses({201: InvitationCreatedOut}), summary="Invite by e-mail (owners)"
)
def invitation_create(request: HttpRequest, household_id: QueryRowId, payload: InvitationCreateIn) -> Status[Any]:
    invitation, code = services.invitation_create(
        user=owner(request), household_id=household_id, email=payload.email, role=Role(payload.role),
        days=payload.expires_in_days, accept_url=request.build_absolute_uri(reverse(ACCEPT_PAGE)),
    )  # fmt: skip
    return Status(201, {**InvitationOut.model_validate(invitation).model_dump(), "code": code})


@router.delete(
    "/{household_id}/invitations/{invitation_id}", response=NO_CONTENT, summary="Revoke an invitation (owners)"
)
def invitation_revoke(request: HttpRequest, household_id: QueryRowId, invitation_id: QueryRowId) -> Status[None]:
    services.invitation_revoke(user=owner(request), household_id=household_id, invitation_id=invitation_id)
    return Status(204, None)


@invitations.get("", response=responses({200: list[MyInvitationOut]}), summary="Invitations to my address")
def my_invitation_list(request: HttpRequest) -> Any:
    return selectors.invitation_list_mine(user=owner(request))


@invitations.post("/accept", response=responses({200: HouseholdOut}), summary="Accept an invitation by its code")
def invitation_accept(request: HttpRequest, payload: InvitationAnswerIn) -> Any:
    user = owner(request)
    household = services.invitation_accept(user=user, code=payload.code)
    return selectors.household_get(user=user, household_id=household.pk)


@invitations.post("/decline", response=NO_CONTENT, summary="Decline an invitation by its code")
def invitation_decline(request: HttpRequest, payload: InvitationAnswerIn) -> Status[None]:
    services.invitation_decline(user=owner(request), code=payload.code)
    return Status(204, None)
