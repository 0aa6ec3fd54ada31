from __future__ import annotations

from django.apps import AppConfig


class CatFeederConfig(AppConfig):
    name = "catfeeder"
    verbose_name = "Cat Feeder"

    def ready(self) -> None:
        from catfeeder import checks  # noqa: F401 - registers the system checks
        from catfeeder.runtime.logs import structlog_configure

        structlog_configure()
