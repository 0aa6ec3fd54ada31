"""Households' pages: the switcher's answer, a household's members page and its owners' forms, and the
page an invitation mail links to. Every action is one service of apps.households, whose checks answer:
a member's or viewer's post to an owner's form is a 403, the last owner leaving a 409 shown on the page."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from apps.accounts.auth import owner
from apps.api.problems import Problem
from apps.households import selectors as household_selectors
from apps.households import services as household_services
from apps.households.roles import Role
from apps.web.current import current, current_set
from apps.web.household_forms import HouseholdChoiceForm, InvitationAnswerForm, InvitationForm, MemberRoleForm
from apps.web.views.base import back_to, owner_page

CONFLICT = 409  # the last owner, an invitation answered already: said on the page, nothing changed


@owner_page
@require_POST
def household_switch(request: HttpRequest) -> HttpResponse:
    form = HouseholdChoiceForm(request.POST)
    if not form.is_valid():
        raise Http404("No such household.")
    household = current_set(request, form.cleaned_data["household"])
    messages.success(request, f"Showing {household.name}.")
    return redirect(back_to(request, "web:dashboard"))


def _members_page(
    request: HttpRequest, household_id: int, *, status: int = 200, error: str = "", **extra: Any
) -> HttpResponse:
    user = owner(request)
    household = household_selectors.household_get(user=user, household_id=household_id)  # a stranger: 404
    manages = current(request).may(Role.OWNER, household.pk)
    members = household_selectors.member_list(user=user, household_id=household.pk).order_by("created_at", "id")
    context = {
        "household": household, "manages": manages, "error": error,
        "members": [(m, MemberRoleForm(initial={"role": m.role}, prefix=f"m{m.user_id}")) for m in members],
        "invitations": household_selectors.invitation_list(user=user, household_id=household.pk) if manages else [],
        "invite": InvitationForm() if manages else None,
        **extra,
    }  # fmt: skip
    return render(request, "web/household.html", context, status=status)


@owner_page
def household(request: HttpRequest, household_id: int) -> HttpResponse:
    return _members_page(request, household_id)


@owner_page
@require_POST
def invitation_create(request: HttpRequest, household_id: int) -> HttpResponse:
    """An owner invites an address: the code is mailed, and shown on this answer only (it is stored hashed)."""
    form = InvitationForm(request.POST)
    if not form.is_valid():
        return _members_page(request, household_id, invite=form, status=422)
    data = form.cleaned_data
    invitation, code = household_services.invitation_create(
        user=owner(request), household_id=household_id, email=data["email"], role=Role(data["role"]),
        days=data["days"], accept_url=request.build_absolute_uri(reverse("web:invitation-accept")),
    )  # fmt: skip
    return _members_page(request, household_id, created={"invitation": invitation, "code": code})


def _conflict_shown(
    request: HttpRequest, household_id: int, action: Callable[[], object], done: str, *, to: str = ""
) -> HttpResponse:
    """Run a households service: a 409 is said on the members page, with its status; else back with `done`."""
    try:
        action()
    except Problem as exc:
        if exc.status != CONFLICT:
            raise
        return _members_page(request, household_id, status=CONFLICT, error=exc.detail)
    messages.success(request, done)
    return redirect(to or reverse("web:household", args=[household_id]))


@owner_page
@require_POST
def invitation_revoke(request: HttpRequest, household_id: int, invitation_id: int) -> HttpResponse:
    revoke = household_services.invitation_revoke
    user = owner(request)
    return _conflict_shown(
        request, household_id, lambda: revoke(user=user, household_id=household_id, invitation_id=invitation_id),
        "The invitation is revoked: its code no longer works.",
    )  # fmt: skip


@owner_page
@require_POST
def member_role(request: HttpRequest, household_id: int, user_id: int) -> HttpResponse:
    form = MemberRoleForm(request.POST, prefix=f"m{user_id}")
    if not form.is_valid():
        return _members_page(request, household_id, status=422, error="Choose owner, member or viewer.")
    role, user = Role(form.cleaned_data["role"]), owner(request)
    set_role = household_services.member_role_set
    return _conflict_shown(
        request, household_id, lambda: set_role(user=user, household_id=household_id, member_id=user_id, role=role),
        f"The role is now {role.label.lower()}.",
    )  # fmt: skip


@owner_page
@require_POST
def member_remove(request: HttpRequest, household_id: int, user_id: int) -> HttpResponse:
    user, remove = owner(request), household_services.member_remove
    # Removing oneself is leaving: this household's page is no longer theirs to see.
    to = reverse("web:dashboard") if user_id == user.pk else ""
    return _conflict_shown(
        request, household_id, lambda: remove(user=user, household_id=household_id, member_id=user_id),
        "The member is removed: they lost access at once.", to=to,
    )  # fmt: skip


@owner_page
@require_POST
def household_leave(request: HttpRequest, household_id: int) -> HttpResponse:
    user, leave = owner(request), household_services.household_leave
    return _conflict_shown(
        request, household_id, lambda: leave(user=user, household_id=household_id),
        "You left the household.", to=reverse("web:dashboard"),
    )  # fmt: skip


@owner_page
def invitation_answer(request: HttpRequest) -> HttpResponse:
    """The page an invitation mail links (its code filled in): the invitee, logged in, accepts or declines.

    The API's errors, said next to the code: an address not verified yet (403), an unknown, used,
    revoked or expired code (404).
    """
    user = owner(request)
    form = InvitationAnswerForm(request.POST or None, initial={"code": request.GET.get("code", "")})
    status = 200
    if request.method == "POST" and form.is_valid():
        code = form.cleaned_data["code"]
        try:
            if request.POST.get("answer") == "decline":
                household_services.invitation_decline(user=user, code=code)
                messages.success(request, "The invitation is declined.")
                return redirect("web:dashboard")
            joined = household_services.invitation_accept(user=user, code=code)
        except Problem as exc:
            form.add_error("code", exc.detail)
            status = exc.status
        else:
            current_set(request, joined.pk)  # the pages show the household just joined
            messages.success(request, f"Welcome to {joined.name}.")
            return redirect("web:dashboard")
    elif form.is_bound:
        status = 422
    context = {"form": form, "mine": household_selectors.invitation_list_mine(user=user), "unverified": status == 403}
    return render(request, "web/invitation_answer.html", context, status=status)
