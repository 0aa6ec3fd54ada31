"""The silence wheel: a socket is told once it has been silent past its timeout, never while
frames keep coming, and never after it is unwatched."""

from __future__ import annotations

import asyncio
import time

from apps.api.messages.silence import wheel

TIMEOUT = 1.5  # seconds


class Socket:
    def __init__(self) -> None:
        self.last_frame_at = time.monotonic()
        self.told = 0

    def silent(self) -> None:
        self.told += 1


async def watch_for(seconds: float, *, chatty: Socket, silent: Socket, gone: Socket) -> None:
    for socket in (chatty, silent, gone):
        wheel().watch(socket, TIMEOUT)
    wheel().unwatch(gone)
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        chatty.last_frame_at = time.monotonic()  # a frame every tenth of a second
        await asyncio.sleep(0.1)


def test_only_the_silent_socket_is_told_and_once() -> None:
    chatty, silent, gone = Socket(), Socket(), Socket()
    asyncio.run(watch_for(TIMEOUT * 3, chatty=chatty, silent=silent, gone=gone))
    assert (chatty.told, silent.told, gone.told) == (0, 1, 0)
