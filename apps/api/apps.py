from __future__ import annotations

from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "apps.api"
    label = "api"
    verbose_name = "API"

    def ready(self) -> None:
        from apps.api.messages import builtin, examples  # noqa: F401 - registers the messages
        from apps.api.messages.socket import quiet_client_faults

        quiet_client_faults()
