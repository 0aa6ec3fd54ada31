from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from apps.ops.selectors import MaintenanceState, maintenance_get


def maintenance(request: HttpRequest) -> dict[str, Any]:
    """`maintenance` for every template: pages include "ops/maintenance_banner.html".

    Lazy: read only by a template that shows the banner. A banner must never break a page.
    """

    def state() -> MaintenanceState:
        try:
            return maintenance_get()
        except Exception:  # noqa: BLE001 - e.g. no database at all: no banner
            return MaintenanceState(enabled=False)

    return {"maintenance": SimpleLazyObject(state)}
