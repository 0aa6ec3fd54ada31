from __future__ import annotations

from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "apps.notifications"
    label = "notifications"
    verbose_name = "Notifications"

    def ready(self) -> None:
        from apps.api.api import api
        from apps.notifications.api import router

        api.add_router("/me/alerts", router, tags=["me"])  # alert mail preferences
