from __future__ import annotations

from django.apps import AppConfig


class DevreloadConfig(AppConfig):
    name = "apps.devreload"
    label = "devreload"
    verbose_name = "Development reload"
