"""System checks for settings that are valid one by one but wrong together."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, register


@register()
def cors_credentials_need_an_allow_list(app_configs: Any, **kwargs: Any) -> list[Error]:
    if getattr(settings, "CORS_ALLOW_ALL_ORIGINS", False) and settings.CORS_ALLOW_CREDENTIALS:
        return [
            Error(
                "CORS allows every origin together with credentials: any site could act as a logged-in owner.",
                hint="List the origins in CORS_ALLOWED_ORIGINS instead.",
                id="catfeeder.E001",
            )
        ]
    return []
