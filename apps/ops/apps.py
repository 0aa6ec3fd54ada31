from __future__ import annotations

from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "apps.ops"
    label = "ops"
    verbose_name = "Operations"

    def ready(self) -> None:
        from apps.ops import celery_signals  # noqa: F401 - connects the Celery hooks
        from apps.ops.metrics import feed_commands_family, metrics_register
        from apps.ops.probes import register_builtin_checks

        register_builtin_checks()
        metrics_register("feed_commands", feed_commands_family)
