from __future__ import annotations

from django.apps import AppConfig


class DevreloadConfig(AppConfig):
    name = "apps.devreload"
    label = "devreload"
    verbose_name = "Development reload"

    def ready(self) -> None:
        from apps.devreload import checks  # noqa: F401 - registers the system checks
