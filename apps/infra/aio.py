"""asyncio helpers the framework and the channel layer share."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

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


T = TypeVar("T")
R = TypeVar("R")


@dataclass
class _Pending(Generic[T, R]):
    items: list[tuple[T, asyncio.Future[R | None]]] = field(default_factory=list)
    task: asyncio.Task[None] | None = None


class Gather(Generic[T, R]):
    """Items submitted from many tasks of one event loop, handled together by one `handle(items)` call.

    The first item to arrive while no call runs starts one; the items that come while it runs
    wait for the next, which takes them all. A storm of sign-ins made one thread hop and one
    database query each; gathered, a few dozen share one. `handle` returns one result per item,
    in order: a value, or an exception that item's waiter raises (one item's own failure); if
    `handle` raises, every item of its call raises the same. A cancelled waiter only stops
    waiting: the call it was part of still runs for the others.
    """

    def __init__(self, handle: Callable[[list[T]], Awaitable[Sequence[R | BaseException]]], *, most: int = 500) -> None:
        self.handle = handle
        self.most = most  # items per call: a bound on the query's size
        self.pending: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Pending[T, R]] = weakref.WeakKeyDictionary()

    async def submit(self, item: T) -> R:
        loop = asyncio.get_running_loop()
        pending = self.pending.setdefault(loop, _Pending())
        future: asyncio.Future[R | None] = loop.create_future()
        pending.items.append((item, future))
        if pending.task is None:
            pending.task = loop.create_task(self.run(pending))
        return await future  # type: ignore[return-value]

    async def run(self, pending: _Pending[T, R]) -> None:
        batch: list[tuple[T, asyncio.Future[R | None]]] = []
        try:
            while pending.items:
                batch, pending.items = pending.items[: self.most], pending.items[self.most :]
                try:
                    results = await self.handle([item for item, _ in batch])
                except Exception as exc:  # noqa: BLE001 - raised in each waiter
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                for (_, future), result in zip(batch, results, strict=True):
                    if future.done():
                        continue
                    if isinstance(result, BaseException):
                        future.set_exception(result)
                    else:
                        future.set_result(result)
        finally:
            pending.task = None
            for _, future in [*batch, *pending.items]:  # a cancelled run (the loop is stopping): nobody waits on
                future.cancel()
            pending.items = []
