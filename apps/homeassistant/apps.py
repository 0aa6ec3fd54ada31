from __future__ import annotations

from django.apps import AppConfig


class HomeAssistantConfig(AppConfig):
    name = "apps.homeassistant"
    label = "homeassistant"
    verbose_name = "Home Assistant"

    def ready(self) -> None:
        from apps.api.api import api
        from apps.homeassistant.api import router

        api.add_router("/home-assistant", router, tags=["home-assistant"])
