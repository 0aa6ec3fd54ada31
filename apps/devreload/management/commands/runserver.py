"""`runserver`: Daphne's (HTTP + WebSocket), plus the embedded Redis and live reload.

The channel layer, cache and broker need Redis; with no REDIS_URL the
development server starts the embedded one and stops it when it exits. The
autoreloader runs this command in a parent process and again in each child
it restarts; only the parent starts Redis, so a code reload keeps it.

With DEBUG on, the process that serves (the autoreloader's child, or the only
process with --noreload) also runs the devreload file watcher: started before
the server, stopped before it. Under the autoreloader the server runs in a
daemon thread that lives until the process ends, so stopping the watcher
when the reloader's loop returns (Ctrl-C) or exits (a Python change) does
exactly that.
"""

from __future__ import annotations

import atexit
import os
from typing import Any, cast

from daphne.management.commands.runserver import Command as DaphneRunserver
from django.conf import settings
from django.utils.autoreload import DJANGO_AUTORELOAD_ENV

from apps.devreload.watcher import Watcher
from apps.infra.embedded_redis import EmbeddedRedis


class Command(DaphneRunserver):
    watcher: Watcher | None = None

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.EMBEDDED_REDIS and os.environ.get(DJANGO_AUTORELOAD_ENV) != "true":
            redis = EmbeddedRedis(settings.VAR_DIR)
            redis.start()
            atexit.register(redis.stop)
        super().handle(*args, **options)

    def run(self, **options: Any) -> None:
        serves_here = not options["use_reloader"] or os.environ.get(DJANGO_AUTORELOAD_ENV) == "true"
        if not (settings.DEBUG and serves_here):
            super().run(**options)
            return
        self.watcher = Watcher.from_settings()
        self.watcher.start()
        try:
            super().run(**options)
        finally:
            self.watcher.stop()

    def inner_run(self, *args: Any, **options: Any) -> None:
        if self.watcher is not None and not options["use_reloader"]:
            # --noreload: Daphne runs in this thread and stops on Ctrl-C; stop
            # the watcher first, as under the autoreloader.
            from twisted.internet import reactor

            cast(Any, reactor).addSystemEventTrigger("before", "shutdown", self.watcher.stop)
        super().inner_run(*args, **options)
