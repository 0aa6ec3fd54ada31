"""A feeder's pages: the list, adding one, its page, its pets, pairing its device and deleting it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from apps.accounts.auth import owner
from apps.accounts.selectors import user_email_verified
from apps.api.problems import Problem
from apps.feeders.selectors import access as access_selectors
from apps.feeders.selectors import commands as command_selectors
from apps.feeders.selectors import devices as device_selectors
from apps.feeders.selectors import pets as pet_selectors
from apps.feeders.services import access as access_services
from apps.feeders.services import devices as device_services
from apps.households.roles import Role
from apps.households.services import household_for_write
from apps.web.current import current
from apps.web.forms import FeederForm, FeederPetsForm, FeedNowForm
from apps.web.views.base import RECENT, form_status, live_names, new_rows_allowed, owner_page, role_for, service_call

if TYPE_CHECKING:
    from apps.accounts.models import User
    from apps.feeders.models import Feeder


@owner_page
def feeder_list(request: HttpRequest) -> HttpResponse:
    user, household = owner(request), current(request).id
    context = {
        "feeders": device_selectors.feeder_list(user=user, household=household),
        "live_names": live_names(user, household),
    }
    return render(request, "web/feeder_list.html", context)


@owner_page
def feeder_create(request: HttpRequest) -> HttpResponse:
    user = owner(request)
    new_rows_allowed(request)
    form = FeederForm(request.POST or None, initial={"time_zone": user.time_zone})
    if request.method == "POST" and form.is_valid():
        create = device_services.feeder_create
        household = household_for_write(user=user, household_id=current(request).id)
        feeder = service_call(form, lambda: create(household=household, **form.cleaned_data), field="mac")
        if feeder is not None:
            messages.success(request, f"{feeder.name} is added: pair its device next.")
            return redirect("web:feeder", feeder_id=feeder.pk)
    return render(request, "web/feeder_create.html", {"form": form}, status=form_status(form))


def _feeder_initial(feeder: Feeder) -> dict[str, Any]:
    return {name: getattr(feeder, name) for name in FeederForm.base_fields}


@owner_page
def feeder_detail(request: HttpRequest, feeder_id: int) -> HttpResponse:
    user = owner(request)
    feeder = device_selectors.feeder_get(user=user, feeder_id=feeder_id, role=role_for(request))
    form = FeederForm(request.POST or None, initial=_feeder_initial(feeder))
    if request.method == "POST" and form.is_valid():
        data = {name: value for name, value in form.cleaned_data.items() if name in form.changed_data}
        update = device_services.feeder_update
        if service_call(form, lambda: update(feeder=feeder, data=data), field="mac") is not None:
            messages.success(request, f"{feeder.name} is saved.")
            return redirect("web:feeder", feeder_id=feeder.pk)
    context = _feeder_context(user, feeder, form=form)
    return render(request, "web/feeder_detail.html", context, status=form_status(form))


def _pets_form(user: User, feeder: Feeder) -> FeederPetsForm:
    allowed = list(access_selectors.feeder_pets_allowed(feeder=feeder).values_list("pk", flat=True))
    return FeederPetsForm(owner=user, household=feeder.household_id, initial={"pet_ids": allowed}, prefix="access")


@owner_page
@require_POST
def feeder_pets(request: HttpRequest, feeder_id: int) -> HttpResponse:
    user = owner(request)
    feeder = device_selectors.feeder_get(user=user, feeder_id=feeder_id, role=Role.MEMBER)
    form = FeederPetsForm(request.POST, owner=user, household=feeder.household_id, prefix="access")
    if form.is_valid():
        pets = list(form.cleaned_data["pet_ids"])
        if service_call(form, lambda: access_services.feeder_pets_set(feeder=feeder, pets=pets)) is not None:
            messages.success(request, f"The pets that may eat at {feeder.name} are saved.")
            return redirect("web:feeder", feeder_id=feeder.pk)
    context = _feeder_context(user, feeder, form=FeederForm(initial=_feeder_initial(feeder)), pets_form=form)
    return render(request, "web/feeder_detail.html", context, status=form_status(form))


def _feeder_context(user: User, feeder: Feeder, **extra: Any) -> dict[str, Any]:
    extra.setdefault("pets_form", _pets_form(user, feeder))
    return {
        "feeder": feeder,
        "commands": command_selectors.command_list(user=user, feeder_id=feeder.pk).select_related("pet")[:RECENT],
        "visits": pet_selectors.visit_list(user=user, feeder=feeder).select_related("pet")[:RECENT],
        "feed_form": FeedNowForm(owner=user, household=feeder.household_id, initial={"feeder": feeder}),
        "live_names": live_names(user, feeder.household_id),
        "email_verified": user_email_verified(user=user),
        **extra,
    }


@owner_page
@require_POST
def feeder_pair(request: HttpRequest, feeder_id: int) -> HttpResponse:
    """A fresh pairing code, shown on this answer only (it is stored hashed)."""
    user = owner(request)
    feeder = device_selectors.feeder_get(user=user, feeder_id=feeder_id, role=Role.MEMBER)
    context = _feeder_context(user, feeder, form=FeederForm(initial=_feeder_initial(feeder)))
    try:
        pairing, code = device_services.pairing_code_create(feeder=feeder, user=user)
    except Problem as exc:
        context["pairing_error"] = exc.detail
        return render(request, "web/feeder_detail.html", context, status=exc.status)
    context["pairing"] = {"code": code, "expires_at": pairing.expires_at}
    return render(request, "web/feeder_detail.html", context)


@owner_page
@require_POST
def feeder_delete(request: HttpRequest, feeder_id: int) -> HttpResponse:
    feeder = device_selectors.feeder_get(user=owner(request), feeder_id=feeder_id, role=Role.MEMBER)
    device_services.feeder_delete(feeder=feeder)
    messages.success(request, f"{feeder.name} and its history are deleted.")
    return redirect("web:feeders")
