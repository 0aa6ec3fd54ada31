"""Listener routes: `DEVRELOAD_ROUTES` maps glob patterns to work run on change.

    DEVRELOAD_ROUTES = {
        "assets/scss/**/*.scss": "sass assets/scss/site.scss static/css/site.css",
        "assets/icons/*.svg": ["python", "tools/sprites.py"],
        "docs/**/*.md": build_docs,  # a callable, given the changed paths; may be async
    }

Patterns are relative to BASE_DIR (or absolute); `**` matches any number of
folders, `*` and `?` stay within one, `[...]` is a set. A command (a string
split like a shell would, or an argv list) runs in BASE_DIR with the changed
paths in $DEVRELOAD_CHANGED, one a line; it fails when it exits non-zero. A
callable fails when it raises. Each route runs at most once at a time:
changes that arrive during a run make exactly one more run afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import os
import re
import shlex
import signal
import subprocess
import time
import traceback
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from apps.infra.embedded_redis import die_with_parent

logger = logging.getLogger("apps.devreload")

ROUTE_TIMEOUT = 300.0  # seconds a run may take before it is stopped and counts as failed
KILL_AFTER = 3.0  # seconds between SIGTERM and SIGKILL when a command is stopped
OUTPUT_LINES = 200  # lines of a failed run kept for the page's overlay

Work = Sequence[str] | Callable[[list[Path]], Any]


@dataclass(frozen=True)
class Result:
    ok: bool
    output: str
    seconds: float


@dataclass(frozen=True)
class Route:
    pattern: str  # as written in the setting: the route's name in the console and the page
    regex: re.Pattern[str]
    root: Path  # the folder to watch: the pattern's part before its first wildcard
    work: Work

    def matches(self, path: Path) -> bool:
        return self.regex.match(path.as_posix()) is not None

    async def run(self, paths: list[Path]) -> Result:
        started = time.monotonic()
        if callable(self.work):
            ok, output = await run_callable(self.work, paths)
        else:
            ok, output = await run_command(self.pattern, list(self.work), paths)
        return Result(ok, output, time.monotonic() - started)


def glob_regex(pattern: str) -> re.Pattern[str]:
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[" and (end := pattern.find("]", i + 2)) != -1:
            body = pattern[i + 1 : end]
            out.append("[" + ("^" + body[1:] if body.startswith("!") else body).replace("\\", "\\\\") + "]")
            i = end + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out) + r"\Z")


def literal_root(pattern: Path) -> Path:
    parts: list[str] = []
    for part in pattern.parts:
        if any(c in part for c in "*?["):
            return Path(*parts)
        parts.append(part)
    return pattern.parent  # no wildcard: one file, watched through its folder


def route_from_setting(pattern: str, work: object) -> Route:
    if not isinstance(pattern, str) or not pattern:
        raise ImproperlyConfigured(f"DEVRELOAD_ROUTES: a pattern must be a non-empty string, not {pattern!r}")
    if isinstance(work, str):
        work = shlex.split(work)
    if not callable(work) and not (isinstance(work, list | tuple) and work and all(isinstance(a, str) for a in work)):
        raise ImproperlyConfigured(
            f"DEVRELOAD_ROUTES[{pattern!r}] must be a command (a string or a list of strings) or a callable"
        )
    absolute = Path(settings.BASE_DIR) / pattern  # an absolute pattern stays as it is
    root = literal_root(absolute)
    # Watched folders are reported by their real path: match against that.
    real = root.resolve() / absolute.relative_to(root)
    return Route(pattern, glob_regex(real.as_posix()), root.resolve(), work)


def routes_from_settings() -> list[Route]:
    routes = getattr(settings, "DEVRELOAD_ROUTES", {})
    if not isinstance(routes, dict):
        raise ImproperlyConfigured("DEVRELOAD_ROUTES must be a dict of glob pattern -> command or callable")
    return [route_from_setting(pattern, work) for pattern, work in routes.items()]


async def run_callable(work: Callable[[list[Path]], Any], paths: list[Path]) -> tuple[bool, str]:
    try:
        if inspect.iscoroutinefunction(work):
            await work(paths)  # awaited: execlib's router dropped coroutine callbacks unawaited
        else:
            result = await asyncio.to_thread(work, paths)
            if inspect.isawaitable(result):
                await result
    except Exception:  # noqa: BLE001 - any failure of the user's callable is shown, not raised
        return False, traceback.format_exc()
    return True, ""


async def run_command(name: str, argv: list[str], paths: list[Path]) -> tuple[bool, str]:
    env = {**os.environ, "DEVRELOAD_CHANGED": "\n".join(str(p) for p in paths)}
    try:
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=settings.BASE_DIR,
            env=env,
            # Its own process group, stopped by us: a Ctrl-C in the terminal
            # stops the watcher first, which then stops the command.
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
    except OSError as exc:
        return False, f"cannot run {shlex.join(argv)}: {exc.strerror or exc}"
    tail: deque[str] = deque(maxlen=OUTPUT_LINES)
    try:
        async with asyncio.timeout(ROUTE_TIMEOUT):
            async for raw in cast(asyncio.StreamReader, process.stdout):  # a stream: stdout=PIPE
                line = raw.decode("utf-8", "replace").rstrip()
                logger.info("%s | %s", name, line)
                tail.append(line)
            code = await process.wait()
    except TimeoutError:
        tail.append(f"(stopped: still running after {ROUTE_TIMEOUT:.0f} s)")
        return False, "\n".join(tail)
    finally:
        await stop_process(process)
    if code != 0:
        tail.append(f"({shlex.join(argv)} exited with {code})")
    return code == 0, "\n".join(tail)


async def stop_process(process: asyncio.subprocess.Process) -> None:
    if process.returncode is not None:
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            await asyncio.wait_for(process.wait(), KILL_AFTER)
            return
        except TimeoutError:
            continue


OnResult = Callable[[Route, list[Path], Result], Awaitable[None]]


@dataclass
class Listener:
    """Runs one route's work: never twice at once, and once more for changes made meanwhile."""

    route: Route
    on_result: OnResult
    pending: set[Path] = field(default_factory=set)
    task: asyncio.Task[None] | None = None

    def submit(self, paths: Sequence[Path]) -> None:
        self.pending.update(paths)
        if self.task is None or self.task.done():
            self.task = asyncio.create_task(self._drain(), name=f"devreload {self.route.pattern}")

    async def _drain(self) -> None:
        while self.pending:
            paths, self.pending = sorted(self.pending), set()
            try:
                result = await self.route.run(paths)
            except Exception:  # noqa: BLE001 - a broken route must not stop its listener
                result = Result(False, traceback.format_exc(), 0.0)
            await self.on_result(self.route, paths, result)

    async def close(self) -> None:
        if self.task is not None and not self.task.done():
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
