from __future__ import annotations

from django.apps import AppConfig


class TasksConfig(AppConfig):
    name = "apps.tasks"
    label = "tasks"
    verbose_name = "Tasks"

    def ready(self) -> None:
        from apps.tasks import signals  # noqa: F401 - connects the periodic jobs' run records
