"""asyncio helpers the framework and the channel layer share."""

from __future__ import annotations

import asyncio
from typing import Any

RECANCEL_EVERY = 0.05  # seconds between cancellations of a task that ignored one


async def cancel_until_done(task: asyncio.Future[Any]) -> None:
    """Cancel `task` until it has ended, however many cancellations it swallows.

    On Python 3.11 `asyncio.wait_for` (redis-py runs commands through it) may
    swallow a cancellation that lands as its operation completes. A
    cancellation of our own meanwhile is passed on once the task has ended."""
    cancelled = False
    while not task.done():
        task.cancel()
        try:
            await asyncio.wait({task}, timeout=RECANCEL_EVERY)
        except asyncio.CancelledError:
            cancelled = True
    if not task.cancelled():
        task.exception()  # retrieved: a task that failed as it was cancelled is not "never retrieved"
    if cancelled:
        raise asyncio.CancelledError
