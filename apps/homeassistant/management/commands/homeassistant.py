"""`manage.py homeassistant`: the MQTT bridge to Home Assistant, until SIGTERM or Ctrl-C."""

from __future__ import annotations

import asyncio
import signal
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from apps.homeassistant.bridge import Bridge


class Command(BaseCommand):
    help = "Run the MQTT bridge to Home Assistant (needs MQTT_URL)."

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.MQTT_URL:
            raise CommandError("MQTT_URL is not set: there is no broker to bridge to.")
        asyncio.run(self.bridge())

    async def bridge(self) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await Bridge(url=settings.MQTT_URL, prefix=settings.MQTT_TOPIC_PREFIX).run(stop)
