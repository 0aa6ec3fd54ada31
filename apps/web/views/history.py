"""The history page: visits and feedings, filtered and paged."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from apps.accounts.auth import owner
from apps.feeders.selectors import pets as pet_selectors
from apps.web.current import current
from apps.web.forms import HistoryFilterForm
from apps.web.views.base import PAGE_SIZE, live_names, owner_page


def _day_start(day: dt.date | None) -> dt.datetime | None:
    """Local midnight of `day` in the owner's time zone (activated by owner_page)."""
    return None if day is None else dt.datetime.combine(day, dt.time(), timezone.get_current_timezone())


@owner_page
def history(request: HttpRequest) -> HttpResponse:
    user, household = owner(request), current(request).id
    form = HistoryFilterForm(request.GET or None, owner=user, household=household)
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
        visit_rows = pet_selectors.visit_list(user=user, household=household, **filters).select_related("pet", "feeder")
        visits = Paginator(visit_rows, PAGE_SIZE).get_page(page)
    if kind in ("all", "feedings") and not form.errors:
        feed_rows = pet_selectors.feed_event_list(user=user, household=household, **filters)
        feed_rows = feed_rows.select_related("pet", "feeder")
        feedings = Paginator(feed_rows, PAGE_SIZE).get_page(page)
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form, "visits": visits, "feedings": feedings, "query": query.urlencode(),
        "filtered": any(filters.values()), "live_names": live_names(user, household),
    }  # fmt: skip
    return render(request, "web/history.html", context)
