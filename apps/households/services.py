"""Households' writes: making one, the role of a member, removing a member, leaving, invitations.

A member removed (or who leaves) loses access at once: their next call finds no row of the
household (404), and their open sockets stop listening to its group (the LEFT event to the
user's own group, after commit).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from urllib.parse import urlencode

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.accounts.models import User
from apps.accounts.selectors import user_email_verified
from apps.accounts.times import when_text_for
from apps.api.messages import owner_group
from apps.api.messages.publish import group_event
from apps.households import groups
from apps.households.errors import (
    EmailUnverified,
    InvitationAnswered,
    InvitationNotValid,
    LastOwner,
    MemberNotFound,
)
from apps.households.models import Household, Invitation, InvitationStatus, Membership
from apps.households.roles import Role
from apps.households.selectors import household_default, membership_get, membership_require
from apps.notifications.services import OutgoingEmail, email_html_from_text, email_send

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


@transaction.atomic
def households_release(*, user: User) -> None:
    """Before an account is deleted: a household it alone was in goes with it (its feeders, pets and
    history too), and one it was the last owner of passes to its oldest other member."""
    for membership in Membership.objects.select_for_update().filter(user=user):
        others = Membership.objects.filter(household_id=membership.household_id).exclude(user=user)
        if not others.exists():
            membership.household.delete()
        elif not others.filter(role=Role.OWNER).exists():
            others.filter(pk=others.order_by("created_at", "id").values("pk")[:1]).update(role=Role.OWNER)


# -- invitations ------------------------------------------------------------------------------
INVITATION_DAYS = 7  # how long an invitation works unless its owner says otherwise
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"  # no 0/O, 1/I/L, U: read aloud, typed in an app
CODE_LENGTH = 10  # 30**10: about 49 bits, and it works only for the invited (verified) address


def _code_hash(code: str) -> str:
    # A plain digest is enough: the codes are random, not passwords.
    normalised = code.replace("-", "").replace(" ", "").upper()
    return hashlib.sha256(normalised.encode()).hexdigest()


@transaction.atomic
def invitation_create(
    *,
    user: User,
    household_id: int,
    email: str,
    role: Role,
    days: int = INVITATION_DAYS,
    accept_url: str | None = None,
    now: dt.datetime | None = None,
) -> tuple[Invitation, str]:
    """An owner invites an address with a role; the code is mailed there and shown once to the owner.

    `accept_url`: the absolute address of the accept page (the caller knows the site's); the mail
    links it with the code filled in.
    """
    household = membership_require(user=user, household_id=household_id, role=Role.OWNER).household
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    invitation = Invitation.objects.create(
        household=household, email=email, role=role, code_hash=_code_hash(code), invited_by=user,
        expires_at=(now or timezone.now()) + dt.timedelta(days=days),
    )  # fmt: skip
    shown = f"{code[:5]}-{code[5:]}"
    subject = f"{settings.PRODUCT_NAME}: {user.display_name} invites you to {household.name}"
    link = f"Open {accept_url}?{urlencode({'code': shown})} to accept or decline, or enter" if accept_url else "Enter"
    text = (
        f"{user.display_name} invites you to share {household.name} on {settings.PRODUCT_NAME} as a "
        f"{role.label.lower()}.\n\nLog in with this address ({email}). {link} the code {shown} in the app; "
        f"it works once, until {when_text_for(invitation.expires_at, reader='UTC')}.\n\n"
        "Not for you? Ignore this mail, or decline with the same code."
    )
    email_send(email=OutgoingEmail(to=[email], subject=subject, text=text,
                                   html=email_html_from_text(subject=subject, text=text)))  # fmt: skip
    return invitation, shown


def _invitation_for(*, user: User, code: str, now: dt.datetime) -> Invitation:
    """The pending, live invitation with this code to the user's address; else InvitationNotValid (404)."""
    found = Invitation.objects.select_for_update().filter(code_hash=_code_hash(code)).first()
    if found is None or found.status != InvitationStatus.PENDING or found.expires_at <= now:
        raise InvitationNotValid
    if found.email.casefold() != user.email.casefold():
        raise InvitationNotValid  # someone else's: it does not exist for this user
    return found


@transaction.atomic
def invitation_accept(*, user: User, code: str, now: dt.datetime | None = None) -> Household:
    """Join the household with the invitation's role (a member already keeps theirs). Needs the invited
    address, verified: the code alone, forwarded or overheard, lets nobody else in."""
    now = now or timezone.now()
    invitation = _invitation_for(user=user, code=code, now=now)
    if not user_email_verified(user=user):
        raise EmailUnverified
    _, joined = Membership.objects.get_or_create(
        household_id=invitation.household_id, user=user, defaults={"role": invitation.role}
    )
    invitation.status, invitation.answered_at = InvitationStatus.ACCEPTED, now
    invitation.save(update_fields=["status", "answered_at"])
    if joined:
        group_event(owner_group(user.pk), {"type": groups.JOINED, "household_id": invitation.household_id})
    return invitation.household


@transaction.atomic
def invitation_decline(*, user: User, code: str, now: dt.datetime | None = None) -> None:
    now = now or timezone.now()
    invitation = _invitation_for(user=user, code=code, now=now)
    invitation.status, invitation.answered_at = InvitationStatus.DECLINED, now
    invitation.save(update_fields=["status", "answered_at"])


@transaction.atomic
def invitation_revoke(*, user: User, household_id: int, invitation_id: int, now: dt.datetime | None = None) -> None:
    """An owner takes back an invitation not answered yet; its code stops working at once."""
    membership_require(user=user, household_id=household_id, role=Role.OWNER)
    invitation = Invitation.objects.select_for_update().filter(household_id=household_id, pk=invitation_id).first()
    if invitation is None:
        raise InvitationNotValid
    if invitation.status != InvitationStatus.PENDING:
        raise InvitationAnswered(invitation.status)
    invitation.status, invitation.answered_at = InvitationStatus.REVOKED, now or timezone.now()
    invitation.save(update_fields=["status", "answered_at"])
