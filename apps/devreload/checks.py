from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Error, register
from django.core.exceptions import ImproperlyConfigured

from apps.devreload.listeners import routes_from_settings


@register()
def check_routes(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    try:
        routes_from_settings()
    except ImproperlyConfigured as exc:
        return [Error(str(exc), id="devreload.E001")]
    return []
