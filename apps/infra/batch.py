"""Group commit: many threads' small writes of one kind, made together in one transaction.

A thread hands its item to `Batch.submit()` and blocks until it is written. The
first thread to arrive while nobody writes becomes the leader: it takes every
item queued by then, writes them with one call of `write` inside one
transaction, gives each thread its own result, and passes the lead to a
thread still waiting, if any. A storm of a thousand sign-ins on SQLite made a
thousand one-row UPDATEs, each waiting its turn for the one write lock and,
with many threads, for the GIL after every statement; in batches it is a few
statements.

`write` takes the items in order and returns one result per item: a value, or
an exception to raise in that item's thread. If the batch's transaction fails
as a whole, each item is written again on its own, so that one bad item fails
only its own thread. An item submitted inside a transaction is written at once,
in that transaction.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from django.db import connection

from apps.infra.db import write_transaction

T = TypeVar("T")
R = TypeVar("R")


@dataclass
class Slot(Generic[T, R]):
    item: T
    done: threading.Event = field(default_factory=threading.Event)
    lead: bool = False  # woken to lead, not because it was written
    result: R | None = None
    error: BaseException | None = None


class Batch(Generic[T, R]):
    def __init__(self, write: Callable[[Sequence[T]], list[R | BaseException]]) -> None:
        self.write = write
        self.mutex = threading.Lock()
        self.queue: list[Slot[T, R]] = []
        self.leading = False

    def submit(self, item: T) -> R:
        if connection.in_atomic_block:
            # Inside the caller's transaction: written there, to commit or roll back with it (and on
            # SQLite that transaction holds the write lock another thread's batch would wait for).
            [result] = self.write([item])
            if isinstance(result, BaseException):
                raise result
            return result
        slot: Slot[T, R] = Slot(item)
        with self.mutex:
            self.queue.append(slot)
            lead = not self.leading
            self.leading = True
        while not lead:
            slot.done.wait()
            if not slot.lead:
                break
            slot.lead, lead = False, True
            slot.done.clear()
        if lead:
            self.lead()
        if slot.error is not None:
            raise slot.error
        return slot.result  # type: ignore[return-value]

    def lead(self) -> None:
        """Write what is queued, then pass the lead on (or give it up when nothing is left)."""
        with self.mutex:
            batch, self.queue = self.queue, []
        try:
            self.write_all(batch)
        finally:
            for slot in batch:
                slot.done.set()
            with self.mutex:
                if self.queue:
                    self.queue[0].lead = True
                    self.queue[0].done.set()
                else:
                    self.leading = False

    def write_all(self, batch: list[Slot[T, R]]) -> None:
        for slot, result in zip(batch, write_together(self.write, [slot.item for slot in batch]), strict=True):
            if isinstance(result, BaseException):
                slot.error = result
            else:
                slot.result = result


def write_together(
    write: Callable[[Sequence[T]], list[R | BaseException]], items: Sequence[T]
) -> list[R | BaseException]:
    """`write(items)` in one transaction; if that fails as a whole, each item again in one of its own,
    so that one bad item fails only itself. One result per item: a value or the exception it raised."""
    try:
        with write_transaction():
            return write(items)
    except Exception:  # noqa: BLE001 - the batch failed as a whole: each on its own tells whose fault
        return [_write_one(write, item) for item in items]


def _write_one(write: Callable[[Sequence[T]], list[R | BaseException]], item: T) -> R | BaseException:
    try:
        with write_transaction():
            [result] = write([item])
    except Exception as exc:  # noqa: BLE001 - the item's own failure
        return exc
    return result
