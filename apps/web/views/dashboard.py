"""The dashboard, and its feed-now form."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from apps.accounts.auth import owner
from apps.accounts.selectors import user_email_verified
from apps.feeders.selectors import allowance as allowance_selectors
from apps.feeders.selectors import devices as device_selectors
from apps.feeders.selectors import pets as pet_selectors
from apps.feeders.services import commands as command_services
from apps.households.roles import Role
from apps.households.selectors import membership_require
from apps.web.forms import FeedNowForm
from apps.web.views.base import RECENT, back_to, live_names, owner_page, service_call


@owner_page
def dashboard(request: HttpRequest) -> HttpResponse:
    user = owner(request)
    pets = list(pet_selectors.pet_list(user=user))
    context = {
        "feeders": device_selectors.feeder_list(user=user),
        "pets": [(pet, allowance_selectors.pet_allowance(pet=pet)) for pet in pets],
        "visits": pet_selectors.visit_list(user=user).select_related("pet", "feeder")[:RECENT],
        "feedings": pet_selectors.feed_event_list(user=user).select_related("pet", "feeder")[:RECENT],
        "feed_form": FeedNowForm(owner=user),
        "live_names": live_names(user),
        "email_verified": user_email_verified(user=user),
    }
    return render(request, "web/dashboard.html", context)


@owner_page
@require_POST
def feed_now(request: HttpRequest) -> HttpResponse:
    """The form's answer without JavaScript; with it, the page calls the REST API and follows the socket."""
    user = owner(request)
    form = FeedNowForm(request.POST, owner=user)
    if form.is_valid():
        data = form.cleaned_data
        membership_require(user=user, household_id=data["feeder"].household_id, role=Role.MEMBER)
        create = command_services.feed_command_create
        command = service_call(
            form, lambda: create(feeder=data["feeder"], pet=data["pet"], grams=data["grams"]), field="grams"
        )
        if command is not None:
            messages.success(request, f"{command.grams} g ordered from {data['feeder'].name}: {command.status}.")
            return redirect(back_to(request, "web:dashboard"))
    return render(request, "web/feed_now.html", {"feed_form": form}, status=422)
