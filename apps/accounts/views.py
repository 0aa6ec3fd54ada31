"""Account pages beside allauth's: profile, account deletion, ending one session."""

from __future__ import annotations

from allauth.account.decorators import reauthentication_required
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from apps.accounts.auth import owner
from apps.accounts.forms import AccountDeleteForm, ProfileForm
from apps.accounts.selectors import user_email_verified, user_session_get
from apps.accounts.services import user_delete, user_session_end, user_update


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    user = owner(request)
    form = ProfileForm(request.POST or None, initial={"name": user.name, "time_zone": user.time_zone})
    if request.method == "POST" and form.is_valid():
        user_update(user=user, data=form.cleaned_data)
        messages.success(request, "Your profile is saved.")
        return redirect("accounts:profile")
    context = {"form": form, "email_verified": user_email_verified(user=user)}
    return render(request, "accounts/profile.html", context)


@login_required
@reauthentication_required
def account_delete(request: HttpRequest) -> HttpResponse:
    form = AccountDeleteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = owner(request)
        logout(request)
        user_delete(user=user)
        messages.info(request, "Your account and everything in it are deleted.")
        return redirect("account_login")
    return render(request, "accounts/delete.html", {"form": form})


@login_required
@require_POST
def session_end(request: HttpRequest, session_id: int) -> HttpResponse:
    session = user_session_get(user=owner(request), session_id=session_id)
    if session is None:
        raise Http404
    current = session.session_key == request.session.session_key
    user_session_end(session=session)
    if current:
        logout(request)
        return redirect("account_login")
    messages.info(request, "That session is logged out.")
    return redirect("usersessions_list")
