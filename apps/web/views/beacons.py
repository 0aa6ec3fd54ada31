"""The collar tags' pages: the list with its add form, one tag's page, and deleting one."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from apps.accounts.auth import owner
from apps.feeders.selectors import devices as device_selectors
from apps.feeders.services import devices as device_services
from apps.households.roles import Role
from apps.households.services import household_for_write
from apps.web.current import current
from apps.web.forms import BeaconForm
from apps.web.views.base import form_status, owner_page, role_for, service_call


@owner_page
def beacon_list(request: HttpRequest) -> HttpResponse:
    user, household_id = owner(request), current(request).id
    form = BeaconForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        create = device_services.beacon_create
        household = household_for_write(user=user, household_id=household_id)
        beacon = service_call(form, lambda: create(household=household, **form.cleaned_data), field="mac")
        if beacon is not None:
            messages.success(request, f"{beacon.name} is added: choose it on a pet's page.")
            return redirect("web:beacons")
    context = {"beacons": device_selectors.beacon_list(user=user, household=household_id), "form": form}
    return render(request, "web/beacon_list.html", context, status=form_status(form))


@owner_page
def beacon_detail(request: HttpRequest, beacon_id: int) -> HttpResponse:
    beacon = device_selectors.beacon_get(user=owner(request), beacon_id=beacon_id, role=role_for(request))
    form = BeaconForm(request.POST or None, initial={"name": beacon.name, "mac": beacon.mac})
    if request.method == "POST" and form.is_valid():
        update = device_services.beacon_update
        if service_call(form, lambda: update(beacon=beacon, data=form.cleaned_data), field="mac") is not None:
            messages.success(request, f"{beacon.name} is saved.")
            return redirect("web:beacons")
    return render(request, "web/beacon_detail.html", {"beacon": beacon, "form": form}, status=form_status(form))


@owner_page
@require_POST
def beacon_delete(request: HttpRequest, beacon_id: int) -> HttpResponse:
    beacon = device_selectors.beacon_get(user=owner(request), beacon_id=beacon_id, role=Role.MEMBER)
    device_services.beacon_delete(beacon=beacon)
    messages.success(request, f"{beacon.name} is deleted.")
    return redirect("web:beacons")
