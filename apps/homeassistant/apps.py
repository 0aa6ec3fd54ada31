from __future__ import annotations

from django.apps import AppConfig


class HomeAssistantConfig(AppConfig):
    name = "apps.homeassistant"
    label = "homeassistant"
    verbose_name = "Home Assistant"
