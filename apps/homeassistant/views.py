"""The owner's Home Assistant page, among the account settings: the link on or off, and where to point it."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from apps.accounts.auth import owner
from apps.homeassistant.forms import HomeAssistantForm
from apps.homeassistant.selectors import home_assistant_addresses, home_assistant_get
from apps.homeassistant.services import home_assistant_set


@login_required
def home_assistant_settings(request: HttpRequest) -> HttpResponse:
    user = owner(request)
    link = home_assistant_get(user=user)
    form = HomeAssistantForm(request.POST or None, initial={"enabled": link.enabled})
    if request.method == "POST" and form.is_valid():
        link = home_assistant_set(user=user, enabled=form.cleaned_data["enabled"])
        messages.success(request, "Home Assistant is on." if link.enabled else "Home Assistant is off.")
        return redirect("homeassistant:settings")
    context = {"form": form, "link": link, **home_assistant_addresses(owner_id=user.pk)}
    return render(request, "homeassistant/settings.html", context)
