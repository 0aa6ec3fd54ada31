"""Template helpers of the owner pages: the allowance gauge and the navigation."""

from __future__ import annotations

import math
from typing import Any

from django import template
from django.utils.safestring import SafeString, mark_safe

from apps.feeders.selectors.allowance import Allowance

register = template.Library()

GAUGE_RADIUS = 42  # in the gauge's 100x100 viewBox
GAUGE_LENGTH = round(2 * math.pi * GAUGE_RADIUS, 2)


@register.inclusion_tag("web/_gauge.html")
def allowance_gauge(allowance: Allowance, pet_id: int, size: str = "") -> dict[str, Any]:
    """A ring: the eaten share of the allowance drawn, the remaining grams written inside."""
    share = 1.0 if allowance.allowance_grams == 0 else min(allowance.eaten_grams / allowance.allowance_grams, 1.0)
    return {
        "allowance": allowance, "pet_id": pet_id, "size": size, "radius": GAUGE_RADIUS, "length": GAUGE_LENGTH,
        "offset": round(GAUGE_LENGTH * (1 - share), 2), "percent": round(share * 100),
    }  # fmt: skip


@register.simple_tag(takes_context=True)
def current(context: template.Context, *names: str) -> SafeString:
    """aria-current for the navigation link of the page being shown."""
    match = getattr(context.get("request"), "resolver_match", None)
    return mark_safe(' aria-current="page"' if match is not None and match.view_name in names else "")  # noqa: S308
