"""Template helpers of the owner pages: the allowance gauge, times as the owner reads them, the navigation,
the household menu and whether the user's role there lets them change rows."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from apps.accounts.times import when_text, when_zone
from apps.feeders.selectors.allowance import Allowance
from apps.households.roles import Role
from apps.web.current import current as current_household

register = template.Library()

GAUGE_RADIUS = 42  # in the gauge's 100x100 viewBox
GAUGE_LENGTH = round(2 * math.pi * GAUGE_RADIUS, 2)


@register.inclusion_tag("web/_gauge.html")
def allowance_gauge(allowance: Allowance, pet_id: int, size: str = "", zone: str = "") -> dict[str, Any]:
    """A ring: the eaten share of the allowance drawn, the remaining grams written inside.

    The period ends at a time of the pet's own day: `zone` is the pet's time zone.
    """
    share = 1.0 if allowance.allowance_grams == 0 else min(allowance.eaten_grams / allowance.allowance_grams, 1.0)
    return {
        "allowance": allowance, "pet_id": pet_id, "size": size, "zone": zone, "radius": GAUGE_RADIUS,
        "length": GAUGE_LENGTH,
        "offset": round(GAUGE_LENGTH * (1 - share), 2), "percent": round(share * 100),
    }  # fmt: skip


@register.simple_tag(takes_context=True)
def current(context: template.Context, *names: str) -> SafeString:
    """aria-current for the navigation link of the page being shown."""
    match = getattr(context.get("request"), "resolver_match", None)
    return mark_safe(' aria-current="page"' if match is not None and match.view_name in names else "")  # noqa: S308


@register.filter
def zone_label(zone: str) -> str:
    """`zone` when times in it need their zone named (it is not the owner's), else ""."""
    return when_zone(zone) or ""


@register.filter
def when(value: dt.datetime | None, zone: str | None = None) -> SafeString | str:
    """A moment as the owner reads it (apps.accounts.times); `zone` for times that belong to a place.

    The <time> carries the instant and, for another zone, that zone: live.js redraws it the same way.
    """
    if value is None:
        return ""
    named = when_zone(zone)
    return format_html(
        '<time datetime="{}"{}>{}</time>',
        value.isoformat(),
        format_html(' data-zone="{}"', named) if named else "",
        when_text(value, zone=zone),
    )


@register.inclusion_tag("web/_household_switcher.html", takes_context=True)
def household_switcher(context: template.Context) -> dict[str, Any]:
    """The household the pages show, a menu of the user's others, and its members page."""
    request = context["request"]
    if not request.user.is_authenticated:  # an error page of the owner pages' layout, logged out
        return {"menu": None}
    # Back to the same page in the other household, if it is a list: a row's page belongs to the
    # household it was in, and the answer to a post cannot be asked for again.
    match = request.resolver_match
    same_page = request.method == "GET" and match is not None and not match.kwargs
    back = request.get_full_path() if same_page else ""
    return {"request": request, "menu": current_household(request), "back": back}  # Django adds the CSRF token


@register.simple_tag(takes_context=True)
def may_change(context: template.Context, household_id: int | None = None) -> bool:
    """Whether the user's role lets them change the rows of that household (the one the pages show by
    default): a form is shown only to who may send it. The views' selectors refuse the others (403)."""
    return current_household(context["request"]).may(Role.MEMBER, household_id)
