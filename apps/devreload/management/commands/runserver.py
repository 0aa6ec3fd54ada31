"""`runserver`: Daphne's (HTTP + WebSocket), plus the embedded Redis.

The channel layer, cache and broker need Redis; with no REDIS_URL the
development server starts the embedded one and stops it when it exits. The
autoreloader runs this command in a parent process and again in each child
it restarts; only the parent starts Redis, so a code reload keeps it.
"""

from __future__ import annotations

import atexit
import os
from typing import Any

from daphne.management.commands.runserver import Command as DaphneRunserver
from django.conf import settings

from catfeeder.embedded_redis import EmbeddedRedis


class Command(DaphneRunserver):
    def handle(self, *args: Any, **options: Any) -> None:
        if settings.EMBEDDED_REDIS and os.environ.get("RUN_MAIN") != "true":
            redis = EmbeddedRedis(settings.VAR_DIR)
            redis.start()
            atexit.register(redis.stop)
        super().handle(*args, **options)
