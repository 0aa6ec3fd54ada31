"""The Home Assistant page, among the account settings: each of my households' links, on or off, and
where to point Home Assistant. Members and owners toggle; viewers see the state."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from apps.accounts.auth import owner
from apps.api.problems import Problem
from apps.homeassistant.forms import HomeAssistantForm
from apps.homeassistant.selectors import home_assistant_addresses, home_assistant_bridge, home_assistant_list
from apps.homeassistant.services import home_assistant_set


@login_required
def home_assistant_settings(request: HttpRequest) -> HttpResponse:
    user = owner(request)
    if request.method == "POST":
        form = HomeAssistantForm(request.POST)
        if not form.is_valid():
            raise Http404("No such household.")  # the page's own hidden field: only a forged post gets here
        try:
            link = home_assistant_set(
                user=user, household_id=form.cleaned_data["household"], enabled=form.cleaned_data["enabled"]
            )
        except Problem as exc:  # a viewer: 403; a household not theirs: 404, as on every page
            if exc.status == 403:
                raise PermissionDenied(exc.detail) from exc
            raise Http404(exc.detail) from exc
        name = link.household.name
        messages.success(
            request, f"Home Assistant is on for {name}." if link.enabled else f"Home Assistant is off for {name}."
        )
        return redirect("homeassistant:settings")
    households = [
        {
            "household": found.household,
            "link": found.link,
            "role": found.role,
            "form": HomeAssistantForm(
                initial={"household": found.household.pk, "enabled": found.link.enabled},
                auto_id=f"id_h{found.household.pk}_%s",  # one form per household: ids of their own
            ) if found.may_change else None,
            **home_assistant_addresses(household_id=found.household.pk),
        }
        for found in home_assistant_list(user=user)
    ]  # fmt: skip
    context = {"households": households, **home_assistant_bridge()}
    return render(request, "homeassistant/settings.html", context)
