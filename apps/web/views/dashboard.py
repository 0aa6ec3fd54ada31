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
from apps.web.current import current
from apps.web.forms import FeedNowForm
from apps.web.views.base import RECENT, back_to, live_names, owner_page, service_call


@owner_page
def dashboard(request: HttpRequest) -> HttpResponse:
    user, household = owner(request), current(request).id
    pets = list(pet_selectors.pet_list(user=user, household=household))
    feed_events = pet_selectors.feed_event_list(user=user, household=household)
    context = {
        "feeders": device_selectors.feeder_list(user=user, household=household),
        "pets": [(pet, allowance_selectors.pet_allowance(pet=pet)) for pet in pets],
        "visits": pet_selectors.visit_list(user=user, household=household).select_related("pet", "feeder")[:RECENT],
        "feedings": feed_events.select_related("pet", "feeder")[:RECENT],
        "feed_form": FeedNowForm(owner=user, household=household),
        "live_names": live_names(user, household),
        "email_verified": user_email_verified(user=user),
    }
    return render(request, "web/dashboard.html", context)


@owner_page
@require_POST
def feed_now(request: HttpRequest) -> HttpResponse:
    """The form's answer without JavaScript; with it, the page calls the REST API and follows the socket.

    Any feeder of the user's households is a valid choice (the form is on the pages of each); the
    feeder's selector then asks for a member's role there (a viewer's post is a 403).
    """
    user = owner(request)
    form = FeedNowForm(request.POST, owner=user)
    if form.is_valid():
        data = form.cleaned_data
        feeder = device_selectors.feeder_get(user=user, feeder_id=data["feeder"].pk, role=Role.MEMBER)
        create = command_services.feed_command_create
        command = service_call(
            form, lambda: create(feeder=feeder, pet=data["pet"], grams=data["grams"], ordered_by=user), field="grams"
        )
        if command is not None:
            messages.success(request, f"{command.grams} g ordered from {data['feeder'].name}: {command.status}.")
            return redirect(back_to(request, "web:dashboard"))
    return render(request, "web/feed_now.html", {"feed_form": form}, status=422)
