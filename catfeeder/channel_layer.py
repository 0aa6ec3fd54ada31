"""The project's channel layer: channels_redis, with a receive() that always ends when cancelled.

Two facts meet here:

- redis-py 8 gives every read a 5 s socket timeout by default, exactly how long
  channels_redis blocks in BZPOPMIN: an idle receive() then fails every 5 s
  (channels' consumers close with 1011). Settings give the layer a longer
  socket timeout (CHANNEL_LAYERS, `socket_timeout`).
- On Python 3.11, `asyncio.wait_for` (redis-py sends every command through it)
  swallows a cancellation that arrives as the send completes. channels_redis
  then loops in BZPOPMIN as if nothing happened; with the longer socket
  timeout that loop never fails either, and whoever awaits the cancelled
  receive (channels' consumer teardown) waits for ever.

So the pop runs in a task of its own, and a cancelled receive() cancels that
task again until it has ended: a swallowed cancellation costs one more round,
not the consumer.
"""

from __future__ import annotations

import asyncio
from typing import Any

from channels_redis.core import RedisChannelLayer as BaseRedisChannelLayer

RECANCEL_EVERY = 0.05  # seconds between cancellations of a pop that ignored one


async def cancel_until_done(task: asyncio.Future[Any]) -> None:
    """Cancel `task` until it has ended, however many cancellations it swallows.

    A cancellation of our own meanwhile is passed on once the task has ended."""
    cancelled = False
    while not task.done():
        task.cancel()
        try:
            await asyncio.wait({task}, timeout=RECANCEL_EVERY)
        except asyncio.CancelledError:
            cancelled = True
    if not task.cancelled():
        task.exception()  # retrieved: a pop that failed as it was cancelled is not "never retrieved"
    if cancelled:
        raise asyncio.CancelledError


class RedisChannelLayer(BaseRedisChannelLayer):
    async def receive(self, channel: str) -> dict[str, Any]:
        pop = asyncio.ensure_future(super().receive(channel))
        try:
            # shield: our own cancellation always reaches us, even if the pop swallows its copy.
            return await asyncio.shield(pop)
        except asyncio.CancelledError:
            await cancel_until_done(pop)
            raise
