"""A pet's pages: the list, adding one, its page (chart, visits, meals, photo) and deleting it."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from apps.accounts.auth import owner
from apps.feeders.selectors import allowance as allowance_selectors
from apps.feeders.selectors import pets as pet_selectors
from apps.feeders.selectors import photos as photo_selectors
from apps.feeders.selectors import schedules as schedule_selectors
from apps.feeders.services import pets as pet_services
from apps.feeders.services import photos as photo_services
from apps.households.roles import Role
from apps.households.services import household_for_write
from apps.web import charts
from apps.web.current import current
from apps.web.forms import FeedNowForm, PetForm, PhotoForm
from apps.web.views.base import RECENT, form_status, live_names, new_rows_allowed, owner_page, role_for, service_call

if TYPE_CHECKING:
    from apps.accounts.models import User
    from apps.feeders.models import Pet


@owner_page
def pet_list(request: HttpRequest) -> HttpResponse:
    user = owner(request)
    pets = [
        (pet, allowance_selectors.pet_allowance(pet=pet), _photo(user, pet))
        for pet in pet_selectors.pet_list(user=user, household=current(request).id)
    ]
    return render(request, "web/pet_list.html", {"pets": pets})


@owner_page
def pet_create(request: HttpRequest) -> HttpResponse:
    user, household_id = owner(request), current(request).id
    new_rows_allowed(request)
    form = PetForm(request.POST or None, owner=user, household=household_id, initial={"time_zone": user.time_zone})
    if request.method == "POST" and form.is_valid():
        household = household_for_write(user=user, household_id=household_id)
        create = pet_services.pet_create
        pet = service_call(form, lambda: create(household=household, **form.cleaned_data), field="beacon")
        if pet is not None:
            messages.success(request, f"{pet.name} is added.")
            return redirect("web:pet", pet_id=pet.pk)
    return render(request, "web/pet_create.html", {"form": form}, status=form_status(form))


def _photo(user: User, pet: Pet) -> dict[str, str] | None:
    photo = photo_selectors.photo_latest_ready(user=user, pet=pet)
    if photo is None:
        return None
    return {
        "small": photo_selectors.photo_url(photo=photo, variant="96"),
        "large": photo_selectors.photo_url(photo=photo, variant="512"),
    }


def _pet_initial(pet: Pet) -> dict[str, Any]:
    return {name: getattr(pet, name) for name in PetForm.base_fields}


@owner_page
def pet_detail(request: HttpRequest, pet_id: int) -> HttpResponse:
    user = owner(request)
    pet = pet_selectors.pet_get(user=user, pet_id=pet_id, role=role_for(request))
    form = PetForm(request.POST or None, owner=user, household=pet.household_id, initial=_pet_initial(pet))
    if request.method == "POST" and form.is_valid():
        data = {name: value for name, value in form.cleaned_data.items() if name in form.changed_data}
        if service_call(form, lambda: pet_services.pet_update(pet=pet, data=data), field="beacon") is not None:
            messages.success(request, f"{pet.name} is saved.")
            return redirect("web:pet", pet_id=pet.pk)
    return render(request, "web/pet_detail.html", _pet_context(user, pet, form=form), status=form_status(form))


def _pet_context(user: User, pet: Pet, **forms_: Any) -> dict[str, Any]:
    # The timeline shows times of day, read by the owner: in the owner's zone (the active one).
    tz = timezone.get_current_timezone()
    today = timezone.localdate()
    week_ago = timezone.now() - dt.timedelta(days=8)
    visits = list(pet_selectors.visit_list(user=user, pet=pet, since=week_ago))
    return {
        "pet": pet,
        "allowance": allowance_selectors.pet_allowance(pet=pet),
        "chart": charts.daily_chart(
            days=pet_selectors.pet_grams_by_day(pet=pet), per_day=pet_selectors.pet_allowance_per_day(pet=pet)
        ),
        "timeline": charts.visits_timeline(visits=visits, tz=tz, today=today),
        "feedings": pet_selectors.feed_event_list(user=user, pet=pet).select_related("feeder")[:RECENT],
        "schedules": schedule_selectors.schedule_list(user=user, pet_id=pet.pk).select_related("feeder"),
        "photo": _photo(user, pet),
        "photo_form": forms_.get("photo_form") or PhotoForm(),
        "form": forms_.get("form") or PetForm(owner=user, household=pet.household_id, initial=_pet_initial(pet)),
        "feed_form": FeedNowForm(owner=user, household=pet.household_id, initial={"pet": pet}),
        "live_names": live_names(user, pet.household_id),
    }


@owner_page
@require_POST
def pet_delete(request: HttpRequest, pet_id: int) -> HttpResponse:
    pet = pet_selectors.pet_get(user=owner(request), pet_id=pet_id, role=Role.MEMBER)
    pet_services.pet_delete(pet=pet)
    messages.success(request, f"{pet.name} and their history are deleted.")
    return redirect("web:pets")


@owner_page
@require_POST
def photo_upload(request: HttpRequest, pet_id: int) -> HttpResponse:
    user = owner(request)
    pet = pet_selectors.pet_get(user=user, pet_id=pet_id, role=Role.MEMBER)
    form = PhotoForm(request.POST, request.FILES)
    create = photo_services.photo_create
    photo = (
        service_call(form, lambda: create(pet=pet, file=form.cleaned_data["file"]), field="file")
        if form.is_valid()
        else None
    )
    if photo is not None:
        messages.success(request, "The photo is uploaded; it shows here once its thumbnails are made.")
        return redirect("web:pet", pet_id=pet.pk)
    return render(request, "web/pet_detail.html", _pet_context(user, pet, photo_form=form), status=422)
