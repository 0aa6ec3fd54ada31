"""Silent sockets: one timer wheel per event loop instead of a timer task per socket.

A socket that must hear from its client within `timeout` seconds is filed in
the bucket of the second its silence would run out. One task per loop wakes
once a second while anything is filed and looks only at the buckets now due;
a socket heard from meanwhile is filed again at its new deadline, one that
stayed silent is told so. A frame costs nothing here (the socket keeps its
own last-frame time), and an idle socket is looked at once per timeout, not
every few seconds: at 10,000 sockets the per-socket timers woke the process
2,000 times a second.

Resolution: a silent socket is told within about a second after its timeout.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
import weakref
from typing import Protocol

logger = logging.getLogger("apps.api.messages")

TICK = 1.0  # seconds between looks at the due buckets


class Watched(Protocol):
    last_frame_at: float  # time.monotonic() of the last frame from the client

    def silent(self) -> None:
        """Called once when nothing came within the timeout; the socket is no longer watched."""


class Wheel:
    """Deadline buckets (whole seconds of time.monotonic()) and the one task that empties them."""

    def __init__(self) -> None:
        self.buckets: dict[int, dict[Watched, float]] = {}  # second -> socket -> its timeout
        self.where: dict[Watched, int] = {}  # socket -> its bucket
        self.task: asyncio.Task[None] | None = None

    def watch(self, socket: Watched, timeout: float) -> None:
        self.file(socket, timeout)
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self.run())

    def unwatch(self, socket: Watched) -> None:
        second = self.where.pop(socket, None)
        if second is not None:
            bucket = self.buckets[second]
            del bucket[socket]
            if not bucket:
                del self.buckets[second]

    def file(self, socket: Watched, timeout: float) -> None:
        second = math.ceil(socket.last_frame_at + timeout)
        self.buckets.setdefault(second, {})[socket] = timeout
        self.where[socket] = second

    async def run(self) -> None:
        while self.where:
            await asyncio.sleep(TICK)
            self.due(time.monotonic())

    def due(self, now: float) -> None:
        for second in [s for s in self.buckets if s <= now]:
            for socket, timeout in self.buckets.pop(second).items():
                del self.where[socket]
                if now - socket.last_frame_at > timeout:
                    try:
                        socket.silent()
                    except Exception:  # one socket's failure must not stop the others
                        logger.exception("a silent socket failed to close")
                else:
                    self.file(socket, timeout)  # heard from since it was filed


_wheels: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Wheel] = weakref.WeakKeyDictionary()


def wheel() -> Wheel:
    """The wheel of the running event loop."""
    loop = asyncio.get_running_loop()
    found = _wheels.get(loop)
    if found is None:
        found = _wheels[loop] = Wheel()
    return found
