from __future__ import annotations

from django.http import HttpRequest

from apps.ops.selectors import MaintenanceState, maintenance_get


def maintenance(request: HttpRequest) -> dict[str, MaintenanceState]:
    """`maintenance` for every template: pages include "ops/maintenance_banner.html"."""
    return {"maintenance": maintenance_get()}
