"""The development file watcher: one thread, one event loop, watchfiles underneath.

It starts with the development server and is stopped before it. Each burst
of changes (grouped by watchfiles until the files are quiet for STEP ms) is
classified once: files claimed by a listener route go to that route, whose
success lets the page update and whose failure shows an overlay instead;
every other file updates the pages at once.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import cast

from django.template.autoreload import reset_loaders
from watchfiles import DefaultFilter, awatch

from apps.devreload import services
from apps.devreload.changes import Layout, PageUpdate, outermost
from apps.devreload.listeners import Listener, Result, Route, routes_from_settings

logger = logging.getLogger("apps.devreload")

STEP = 50  # ms of quiet that ends a burst of changes
DEBOUNCE = 1000  # ms: the longest a burst is held before it is handled anyway
POLL = 300  # ms between checks for a stop request while nothing changes
START_TIMEOUT = 10.0  # seconds to wait for the watches to be in place
STOP_TIMEOUT = 10.0  # seconds to wait for the thread after a stop request


class ChangeFilter(DefaultFilter):
    """watchfiles' defaults (VCS folders, caches, editor swap files) plus temp files
    editors write while saving (vim's "4913" probe, "*.tmp") and hidden files."""

    ignore_entity_patterns = (
        *DefaultFilter.ignore_entity_patterns,
        r"^4913$",
        r"\.tmp$",
        r"^\.",
    )


class Watcher:
    def __init__(self, layout: Layout, routes: list[Route]) -> None:
        self.layout = layout
        self.routes = routes
        self.folders = outermost([*layout.folders(), *(r.root for r in routes)])
        self.thread: threading.Thread | None = None
        self.ready = threading.Event()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.stop_event: asyncio.Event | None = None
        self.listeners: list[Listener] = []

    @classmethod
    def from_settings(cls) -> Watcher:
        return cls(Layout.from_settings(), routes_from_settings())

    # -- life ------------------------------------------------------------------
    def start(self) -> None:
        """Start watching; returns once the watches are in place (changes from then on are seen)."""
        # watchfiles logs "N changes detected" for each burst; our own line says which and what for.
        logging.getLogger("watchfiles.main").setLevel(logging.WARNING)
        for route in self.routes:
            if not route.root.is_dir():
                logger.warning("%s: folder %s does not exist, not watched", route.pattern, route.root)
        self.thread = threading.Thread(target=self._run, name="devreload-watcher", daemon=True)
        self.thread.start()
        if not self.ready.wait(START_TIMEOUT):
            logger.warning("the watcher did not start within %.0f s", START_TIMEOUT)
        elif self.thread.is_alive():
            logger.info("watching %s", ", ".join(str(f) for f in self.folders) or "nothing")

    def stop(self) -> None:
        """Stop watching and stop any running listener command; idempotent, any thread."""
        if self.thread is None or not self.thread.is_alive():
            return
        if self.loop is not None and self.stop_event is not None:
            self.loop.call_soon_threadsafe(self.stop_event.set)
        self.thread.join(STOP_TIMEOUT)
        if self.thread.is_alive():
            logger.warning("the watcher did not stop within %.0f s", STOP_TIMEOUT)
        else:
            logger.info("watcher stopped")

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except Exception:
            logger.exception("the watcher failed")
        finally:
            self.ready.set()

    async def _main(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.stop_event = asyncio.Event()
        self.listeners = [Listener(route, self._route_done) for route in self.routes]
        try:
            if not self.folders:
                self.ready.set()
                await self.stop_event.wait()
                return
            try:
                await self._watch(force_polling=None)  # watchfiles' choice: inotify on Linux
            except (OSError, RuntimeError) as exc:
                if self.ready.is_set():
                    raise
                # Out of inotify instances or watches (a shared machine, a huge tree): poll instead.
                logger.warning("cannot watch for file events (%s): polling instead", exc)
                await self._watch(force_polling=True)
        finally:
            for listener in self.listeners:
                await listener.close()

    async def _watch(self, force_polling: bool | None) -> None:
        async for changes in awatch(
            *self.folders,
            watch_filter=ChangeFilter(),
            step=STEP,
            debounce=DEBOUNCE,
            rust_timeout=POLL,
            yield_on_timeout=True,  # the first (empty) yield says the watches are in place
            stop_event=cast(asyncio.Event, self.stop_event),  # set by _main
            force_polling=force_polling,
            ignore_permission_denied=True,
        ):
            self.ready.set()
            if changes:
                await self._handle(sorted({Path(path) for _, path in changes}))

    # -- changes ---------------------------------------------------------------
    async def _handle(self, paths: list[Path]) -> None:
        claimed: set[Path] = set()
        for listener in self.listeners:
            mine = [p for p in paths if listener.route.matches(p)]
            if mine:
                claimed.update(mine)
                listener.submit(mine)
        await self._update_pages(p for p in paths if p not in claimed)

    async def _update_pages(self, paths: Iterable[Path]) -> None:
        update = PageUpdate.of(self.layout.classify(p) for p in paths)
        if not update:
            return
        if update.clear_templates:
            reset_loaders()  # before the pages ask for the new template
        if update.reload:
            logger.info("%s changed: reloading pages", ", ".join(update.files))
        else:
            logger.info("%s changed: swapping stylesheets", ", ".join(update.stylesheets))
        try:
            await services.pages_update(update=update)
        except Exception:
            logger.exception("could not reach the pages through the channel layer")

    async def _route_done(self, route: Route, paths: list[Path], result: Result) -> None:
        if result.ok:
            logger.info("%s ran in %.1f s", route.pattern, result.seconds)
        else:
            logger.error("%s failed after %.1f s", route.pattern, result.seconds)
        try:
            await services.failure_set(route=route.pattern, output=None if result.ok else result.output)
        except Exception:
            logger.exception("could not reach the pages through the channel layer")
        if result.ok:
            await self._update_pages(paths)
