"""The owner pages. Each view reads through the feeders selectors (which see only
the owner's rows: someone else's id is a 404) and writes through the services;
an error a service raises is shown next to the form field it is about."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from apps.accounts.models import User
from apps.accounts.selectors import user_email_verified
from apps.api.problems import Problem
from apps.feeders.models import FeedSource, PhotoStatus
from apps.feeders.selectors import allowance as allowance_selectors
from apps.feeders.selectors import commands as command_selectors
from apps.feeders.selectors import devices as device_selectors
from apps.feeders.selectors import pets as pet_selectors
from apps.feeders.selectors import photos as photo_selectors
from apps.feeders.selectors import schedules as schedule_selectors
from apps.feeders.services import commands as command_services
from apps.feeders.services import devices as device_services
from apps.feeders.services import pets as pet_services
from apps.feeders.services import photos as photo_services
from apps.feeders.services import schedules as schedule_services
from apps.web import charts
from apps.web.forms import (
    BeaconForm,
    FeederForm,
    FeedNowForm,
    HistoryFilterForm,
    PetForm,
    PhotoForm,
    ScheduleCreateForm,
    ScheduleFields,
)  # fmt: skip

T = TypeVar("T")
View = Callable[..., HttpResponse]
RECENT = 10  # visits and feedings on the dashboard
PAGE_SIZE = 50  # history rows per page


def owner_page(view: View) -> View:
    """Logged in, and times shown in the owner's own time zone."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        timezone.activate(ZoneInfo(_owner(request).time_zone))
        try:
            return view(request, *args, **kwargs)
        finally:
            timezone.deactivate()

    return wrapper


def _owner(request: HttpRequest) -> User:
    if not isinstance(request.user, User):  # login_required ran first: only a bug gets here
        raise PermissionDenied
    return request.user


def _call(form: forms.Form, action: Callable[[], T], *, field: str | None = None) -> T | None:
    """Run a service; its error goes next to the field it names (or `field`), and None is returned."""
    try:
        return action()
    except Problem as exc:
        for error in exc.errors or []:
            name = str(error["loc"][-1]).removesuffix("_id")
            form.add_error(name if name in form.fields else None, f"{error['msg'].capitalize()}.")
        if not exc.errors:
            form.add_error(field if field in form.fields else None, exc.detail)
        return None


def _status(form: forms.Form | None) -> int:
    """422 for a page sent back with its form's errors (the browser shows it all the same)."""
    return 422 if form is not None and form.is_bound and form.errors else 200


def _back(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next", "")
    allowed = url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure())
    return target if target and allowed else default


def _live_names(user: User) -> dict[str, dict[int, str]]:
    """Names the page's script needs to show live events (they carry ids only)."""
    return {
        "pets": dict(pet_selectors.pet_list(user=user).values_list("pk", "name")),
        "feeders": dict(device_selectors.feeder_list(user=user).values_list("pk", "name")),
    }


# -- dashboard ---------------------------------------------------------------------------
@owner_page
def dashboard(request: HttpRequest) -> HttpResponse:
    user = _owner(request)
    pets = list(pet_selectors.pet_list(user=user))
    context = {
        "feeders": device_selectors.feeder_list(user=user),
        "pets": [(pet, allowance_selectors.pet_allowance(pet=pet)) for pet in pets],
        "visits": pet_selectors.visit_list(user=user).select_related("pet", "feeder")[:RECENT],
        "feedings": pet_selectors.feed_event_list(user=user).select_related("pet", "feeder")[:RECENT],
        "feed_form": FeedNowForm(owner=user),
        "live_names": _live_names(user),
        "email_verified": user_email_verified(user=user),
    }
    return render(request, "web/dashboard.html", context)


@owner_page
@require_POST
def feed_now(request: HttpRequest) -> HttpResponse:
    """The form's answer without JavaScript; with it, the page calls the REST API and follows the socket."""
    user = _owner(request)
    form = FeedNowForm(request.POST, owner=user)
    if form.is_valid():
        data = form.cleaned_data
        create = command_services.feed_command_create
        command = _call(
            form, lambda: create(feeder=data["feeder"], pet=data["pet"], grams=data["grams"], source=FeedSource.OWNER),
            field="grams",
        )  # fmt: skip
        if command is not None:
            messages.success(request, f"{command.grams} g ordered from {data['feeder'].name}: {command.status}.")
            return redirect(_back(request, "web:dashboard"))
    return render(request, "web/feed_now.html", {"feed_form": form}, status=422)


# -- pets -----------------------------------------------------------------------------------
@owner_page
def pet_list(request: HttpRequest) -> HttpResponse:
    user = _owner(request)
    pets = [
        (pet, allowance_selectors.pet_allowance(pet=pet), _photo(user, pet))
        for pet in pet_selectors.pet_list(user=user)
    ]
    return render(request, "web/pet_list.html", {"pets": pets})


@owner_page
def pet_create(request: HttpRequest) -> HttpResponse:
    user = _owner(request)
    form = PetForm(request.POST or None, owner=user, initial={"time_zone": user.time_zone})
    if request.method == "POST" and form.is_valid():
        pet = _call(form, lambda: pet_services.pet_create(owner=user, **form.cleaned_data), field="beacon")
        if pet is not None:
            messages.success(request, f"{pet.name} is added.")
            return redirect("web:pet", pet_id=pet.pk)
    return render(request, "web/pet_create.html", {"form": form}, status=_status(form))


def _photo(user: User, pet: Any) -> dict[str, str] | None:
    photo = (
        photo_selectors.photo_list(user=user, pet=pet).filter(status=PhotoStatus.READY).order_by("-created_at").first()
    )
    if photo is None:
        return None
    return {
        "small": photo_selectors.photo_url(photo=photo, variant="96"),
        "large": photo_selectors.photo_url(photo=photo, variant="512"),
    }


def _pet_initial(pet: Any) -> dict[str, Any]:
    return {name: getattr(pet, name) for name in PetForm.base_fields}


@owner_page
def pet_detail(request: HttpRequest, pet_id: int) -> HttpResponse:
    user = _owner(request)
    pet = pet_selectors.pet_get(user=user, pet_id=pet_id)
    form = PetForm(request.POST or None, owner=user, initial=_pet_initial(pet))
    if request.method == "POST" and form.is_valid():
        data = {name: value for name, value in form.cleaned_data.items() if name in form.changed_data}
        if _call(form, lambda: pet_services.pet_update(pet=pet, data=data), field="beacon") is not None:
            messages.success(request, f"{pet.name} is saved.")
            return redirect("web:pet", pet_id=pet.pk)
    return render(request, "web/pet_detail.html", _pet_context(user, pet, form=form), status=_status(form))


def _pet_context(user: User, pet: Any, **forms_: Any) -> dict[str, Any]:
    tz = ZoneInfo(pet.time_zone)
    today = timezone.now().astimezone(tz).date()
    week_ago = timezone.now() - dt.timedelta(days=8)
    visits = list(pet_selectors.visit_list(user=user, pet=pet, since=week_ago))
    return {
        "pet": pet,
        "allowance": allowance_selectors.pet_allowance(pet=pet),
        "chart": charts.daily_chart(
            days=pet_selectors.pet_grams_by_day(pet=pet), per_day=charts.allowance_per_day(pet)
        ),
        "timeline": charts.visits_timeline(visits=visits, tz=tz, today=today),
        "feedings": pet_selectors.feed_event_list(user=user, pet=pet).select_related("feeder")[:RECENT],
        "schedules": schedule_selectors.schedule_list(user=user, pet_id=pet.pk).select_related("feeder"),
        "photo": _photo(user, pet),
        "photo_form": forms_.get("photo_form") or PhotoForm(),
        "form": forms_.get("form") or PetForm(owner=user, initial=_pet_initial(pet)),
        "feed_form": FeedNowForm(owner=user, initial={"pet": pet}),
        "live_names": _live_names(user),
    }


@owner_page
@require_POST
def pet_delete(request: HttpRequest, pet_id: int) -> HttpResponse:
    pet = pet_selectors.pet_get(user=_owner(request), pet_id=pet_id)
    pet_services.pet_delete(pet=pet)
    messages.success(request, f"{pet.name} and their history are deleted.")
    return redirect("web:pets")


@owner_page
@require_POST
def photo_upload(request: HttpRequest, pet_id: int) -> HttpResponse:
    user = _owner(request)
    pet = pet_selectors.pet_get(user=user, pet_id=pet_id)
    form = PhotoForm(request.POST, request.FILES)
    create = photo_services.photo_create
    photo = (
        _call(form, lambda: create(pet=pet, file=form.cleaned_data["file"]), field="file") if form.is_valid() else None
    )
    if photo is not None:
        messages.success(request, "The photo is uploaded; it shows here once its thumbnails are made.")
        return redirect("web:pet", pet_id=pet.pk)
    return render(request, "web/pet_detail.html", _pet_context(user, pet, photo_form=form), status=422)


# -- feeders --------------------------------------------------------------------------------
@owner_page
def feeder_list(request: HttpRequest) -> HttpResponse:
    user = _owner(request)
    context = {"feeders": device_selectors.feeder_list(user=user), "live_names": _live_names(user)}
    return render(request, "web/feeder_list.html", context)


@owner_page
def feeder_create(request: HttpRequest) -> HttpResponse:
    user = _owner(request)
    form = FeederForm(request.POST or None, initial={"time_zone": user.time_zone})
    if request.method == "POST" and form.is_valid():
        feeder = _call(form, lambda: device_services.feeder_create(owner=user, **form.cleaned_data), field="mac")
        if feeder is not None:
            messages.success(request, f"{feeder.name} is added: pair its device next.")
            return redirect("web:feeder", feeder_id=feeder.pk)
    return render(request, "web/feeder_create.html", {"form": form}, status=_status(form))


@owner_page
def feeder_detail(request: HttpRequest, feeder_id: int) -> HttpResponse:
    user = _owner(request)
    feeder = device_selectors.feeder_get(user=user, feeder_id=feeder_id)
    initial = {name: getattr(feeder, name) for name in FeederForm.base_fields}
    form = FeederForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = {name: value for name, value in form.cleaned_data.items() if name in form.changed_data}
        if _call(form, lambda: device_services.feeder_update(feeder=feeder, data=data), field="mac") is not None:
            messages.success(request, f"{feeder.name} is saved.")
            return redirect("web:feeder", feeder_id=feeder.pk)
    return render(request, "web/feeder_detail.html", _feeder_context(user, feeder, form=form), status=_status(form))


def _feeder_context(user: User, feeder: Any, **extra: Any) -> dict[str, Any]:
    return {
        "feeder": feeder,
        "commands": command_selectors.command_list(user=user, feeder_id=feeder.pk).select_related("pet")[:RECENT],
        "visits": pet_selectors.visit_list(user=user, feeder=feeder).select_related("pet")[:RECENT],
        "feed_form": FeedNowForm(owner=user, initial={"feeder": feeder}),
        "live_names": _live_names(user),
        "email_verified": user_email_verified(user=user),
        **extra,
    }


@owner_page
@require_POST
def feeder_pair(request: HttpRequest, feeder_id: int) -> HttpResponse:
    """A fresh pairing code, shown on this answer only (it is stored hashed)."""
    user = _owner(request)
    feeder = device_selectors.feeder_get(user=user, feeder_id=feeder_id)
    initial = {name: getattr(feeder, name) for name in FeederForm.base_fields}
    context = _feeder_context(user, feeder, form=FeederForm(initial=initial))
    try:
        pairing, code = device_services.pairing_code_create(feeder=feeder)
    except Problem as exc:
        context["pairing_error"] = exc.detail
        return render(request, "web/feeder_detail.html", context, status=exc.status)
    context["pairing"] = {"code": code, "expires_at": pairing.expires_at}
    return render(request, "web/feeder_detail.html", context)


@owner_page
@require_POST
def feeder_delete(request: HttpRequest, feeder_id: int) -> HttpResponse:
    feeder = device_selectors.feeder_get(user=_owner(request), feeder_id=feeder_id)
    device_services.feeder_delete(feeder=feeder)
    messages.success(request, f"{feeder.name} and its history are deleted.")
    return redirect("web:feeders")


# -- collar tags ----------------------------------------------------------------------------
@owner_page
def beacon_list(request: HttpRequest) -> HttpResponse:
    user = _owner(request)
    form = BeaconForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        beacon = _call(form, lambda: device_services.beacon_create(owner=user, **form.cleaned_data), field="mac")
        if beacon is not None:
            messages.success(request, f"{beacon.name} is added: choose it on a pet's page.")
            return redirect("web:beacons")
    context = {"beacons": device_selectors.beacon_list(user=user), "form": form}
    return render(request, "web/beacon_list.html", context, status=_status(form))


@owner_page
def beacon_detail(request: HttpRequest, beacon_id: int) -> HttpResponse:
    beacon = device_selectors.beacon_get(user=_owner(request), beacon_id=beacon_id)
    form = BeaconForm(request.POST or None, initial={"name": beacon.name, "mac": beacon.mac})
    if request.method == "POST" and form.is_valid():
        update = device_services.beacon_update
        if _call(form, lambda: update(beacon=beacon, data=form.cleaned_data), field="mac") is not None:
            messages.success(request, f"{beacon.name} is saved.")
            return redirect("web:beacons")
    return render(request, "web/beacon_detail.html", {"beacon": beacon, "form": form}, status=_status(form))


@owner_page
@require_POST
def beacon_delete(request: HttpRequest, beacon_id: int) -> HttpResponse:
    beacon = device_selectors.beacon_get(user=_owner(request), beacon_id=beacon_id)
    device_services.beacon_delete(beacon=beacon)
    messages.success(request, f"{beacon.name} is deleted.")
    return redirect("web:beacons")


# -- meal schedules ------------------------------------------------------------------------------
def _schedule_initial(schedule: Any) -> dict[str, Any]:
    return {"times": ", ".join(schedule.times), "days_of_week": schedule.days_of_week, "grams": schedule.grams,
            "enabled": schedule.enabled}  # fmt: skip


def _schedules_page(request: HttpRequest, user: User, *, create: Any = None, edited: Any = None) -> HttpResponse:
    """The editor: every schedule with its own form (the one just submitted keeps its errors)."""
    rows = []
    for schedule in (
        schedule_selectors.schedule_list(user=user).select_related("pet", "feeder").order_by("pet__name", "id")
    ):
        form = edited if edited is not None and edited.schedule_id == schedule.pk else None
        form = form or ScheduleFields(initial=_schedule_initial(schedule), prefix=f"s{schedule.pk}")
        rows.append((schedule, form))
    create = create or ScheduleCreateForm(owner=user, initial={"pet": request.GET.get("pet")}, prefix="new")
    status = max(_status(create), _status(edited))
    return render(request, "web/schedules.html", {"rows": rows, "create": create}, status=status)


@owner_page
def schedules(request: HttpRequest) -> HttpResponse:
    user = _owner(request)
    if request.method != "POST":
        return _schedules_page(request, user)
    form = ScheduleCreateForm(request.POST, owner=user, prefix="new")
    if form.is_valid():
        data = form.cleaned_data
        create = schedule_services.schedule_create
        if _call(form, lambda: create(time_zone=data["pet"].time_zone, **data), field="feeder") is not None:
            messages.success(request, f"Meals for {data['pet'].name} at {', '.join(data['times'])} are scheduled.")
            return redirect("web:schedules")
    return _schedules_page(request, user, create=form)


@owner_page
@require_POST
def schedule_update(request: HttpRequest, schedule_id: int) -> HttpResponse:
    user = _owner(request)
    schedule = schedule_selectors.schedule_get(user=user, schedule_id=schedule_id)
    form = ScheduleFields(request.POST, initial=_schedule_initial(schedule), prefix=f"s{schedule.pk}")
    form.schedule_id = schedule.pk  # type: ignore[attr-defined]
    update = schedule_services.schedule_update
    if form.is_valid() and _call(form, lambda: update(schedule=schedule, data=form.cleaned_data)) is not None:
        messages.success(request, f"The meals of {schedule.pet.name} are saved.")
        return redirect("web:schedules")
    return _schedules_page(request, user, edited=form)


@owner_page
@require_POST
def schedule_delete(request: HttpRequest, schedule_id: int) -> HttpResponse:
    schedule = schedule_selectors.schedule_get(user=_owner(request), schedule_id=schedule_id)
    schedule_services.schedule_delete(schedule=schedule)
    messages.success(request, "The schedule is deleted.")
    return redirect("web:schedules")


def _day_start(day: dt.date | None) -> dt.datetime | None:
    """Local midnight of `day` in the owner's time zone (activated by owner_page)."""
    return None if day is None else dt.datetime.combine(day, dt.time(), timezone.get_current_timezone())


# -- history -------------------------------------------------------------------------------------
@owner_page
def history(request: HttpRequest) -> HttpResponse:
    user = _owner(request)
    form = HistoryFilterForm(request.GET or None, owner=user)
    filters: dict[str, Any] = {}
    kind = "all"
    if form.is_valid():
        data = form.cleaned_data
        kind = data["kind"] or "all"
        filters = {
            "pet": data["pet"], "feeder": data["feeder"], "since": _day_start(data["since"]),
            "until": _day_start(data["until"] and data["until"] + dt.timedelta(days=1)),
        }  # fmt: skip
    page = request.GET.get("page")
    visits = feedings = None
    if kind in ("all", "visits") and not form.errors:
        visit_rows = pet_selectors.visit_list(user=user, **filters).select_related("pet", "feeder")
        visits = Paginator(visit_rows, PAGE_SIZE).get_page(page)
    if kind in ("all", "feedings") and not form.errors:
        feed_rows = pet_selectors.feed_event_list(user=user, **filters).select_related("pet", "feeder")
        feedings = Paginator(feed_rows, PAGE_SIZE).get_page(page)
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form, "visits": visits, "feedings": feedings, "query": query.urlencode(),
        "filtered": any(filters.values()), "live_names": _live_names(user),
    }  # fmt: skip
    return render(request, "web/history.html", context)
