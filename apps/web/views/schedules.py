"""The meal schedules' editor: every schedule with its own form, and one to add a schedule."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from apps.accounts.auth import owner
from apps.feeders.selectors import devices as device_selectors
from apps.feeders.selectors import schedules as schedule_selectors
from apps.feeders.services import schedules as schedule_services
from apps.households.roles import Role
from apps.web.current import current
from apps.web.forms import ScheduleCreateForm, ScheduleFields
from apps.web.views.base import form_status, owner_page, service_call

if TYPE_CHECKING:
    from apps.accounts.models import User
    from apps.feeders.models import MealSchedule


def _schedule_initial(schedule: MealSchedule) -> dict[str, Any]:
    return {"times": ", ".join(schedule.times), "days_of_week": schedule.days_of_week, "grams": schedule.grams,
            "enabled": schedule.enabled}  # fmt: skip


def _schedules_page(request: HttpRequest, user: User, *, create: Any = None, edited: Any = None) -> HttpResponse:
    """The editor: every schedule of the current household with its own form (the one just submitted
    keeps its errors)."""
    household = current(request).id
    rows = []
    for schedule in (
        schedule_selectors.schedule_list(user=user, household=household)
        .select_related("pet", "feeder")
        .order_by("pet__name", "id")
    ):
        form = edited if edited is not None and edited.schedule_id == schedule.pk else None
        form = form or ScheduleFields(initial=_schedule_initial(schedule), prefix=f"s{schedule.pk}")
        rows.append((schedule, form))
    create = create or ScheduleCreateForm(
        owner=user, household=household, initial={"pet": request.GET.get("pet")}, prefix="new"
    )
    status = max(form_status(create), form_status(edited))
    return render(request, "web/schedules.html", {"rows": rows, "create": create}, status=status)


@owner_page
def schedules(request: HttpRequest) -> HttpResponse:
    user = owner(request)
    if request.method != "POST":
        return _schedules_page(request, user)
    form = ScheduleCreateForm(request.POST, owner=user, household=current(request).id, prefix="new")
    if form.is_valid():
        data = form.cleaned_data
        device_selectors.feeder_get(user=user, feeder_id=data["feeder"].pk, role=Role.MEMBER)  # a viewer: 403
        create = schedule_services.schedule_create
        if service_call(form, lambda: create(time_zone=data["pet"].time_zone, **data), field="feeder") is not None:
            messages.success(request, f"Meals for {data['pet'].name} at {', '.join(data['times'])} are scheduled.")
            return redirect("web:schedules")
    return _schedules_page(request, user, create=form)


@owner_page
@require_POST
def schedule_update(request: HttpRequest, schedule_id: int) -> HttpResponse:
    user = owner(request)
    schedule = schedule_selectors.schedule_get(user=user, schedule_id=schedule_id, role=Role.MEMBER)
    form = ScheduleFields(request.POST, initial=_schedule_initial(schedule), prefix=f"s{schedule.pk}")
    form.schedule_id = schedule.pk  # type: ignore[attr-defined]
    update = schedule_services.schedule_update
    if form.is_valid() and service_call(form, lambda: update(schedule=schedule, data=form.cleaned_data)) is not None:
        messages.success(request, f"The meals of {schedule.pet.name} are saved.")
        return redirect("web:schedules")
    return _schedules_page(request, user, edited=form)


@owner_page
@require_POST
def schedule_delete(request: HttpRequest, schedule_id: int) -> HttpResponse:
    schedule = schedule_selectors.schedule_get(user=owner(request), schedule_id=schedule_id, role=Role.MEMBER)
    schedule_services.schedule_delete(schedule=schedule)
    messages.success(request, "The schedule is deleted.")
    return redirect("web:schedules")
