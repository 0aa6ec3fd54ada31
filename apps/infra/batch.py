"""Group commit: many small writes of one kind, made together in one transaction.

The writes that arrive together on a web process are gathered on its event loop
(`apps.infra.aio.Gather`) and handed to one `write_together` call in one pool
thread. A storm of a thousand sign-ins on SQLite made a thousand one-row
UPDATEs, each waiting its turn for the one write lock and, with many threads,
for the GIL after every statement; together it is a few statements.

`write` takes the items in order and returns one result per item: a value, or
the exception that item failed with. If the transaction fails as a whole, each
item is written again in one of its own, so that one bad item fails only itself.
Called inside a transaction, the items are written in it (a savepoint), to
commit or roll back with it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from apps.infra.db import write_transaction

T = TypeVar("T")
R = TypeVar("R")

Write = Callable[[Sequence[T]], list[R | BaseException]]


def write_together(write: Write[T, R], items: Sequence[T]) -> list[R | BaseException]:
    """`write(items)` in one transaction; if that fails as a whole, each item again in one of its own.
    One result per item: a value or the exception it failed with."""
    try:
        with write_transaction():
            return write(items)
    except Exception:  # noqa: BLE001 - the batch failed as a whole: each on its own tells whose fault
        return [_write_one(write, item) for item in items]


def _write_one(write: Write[T, R], item: T) -> R | BaseException:
    try:
        with write_transaction():
            [result] = write([item])
    except Exception as exc:  # noqa: BLE001 - the item's own failure
        return exc
    return result


def value(result: R | BaseException) -> R:
    """A result of `write_together`: its value, or its exception raised (a caller of one item)."""
    if isinstance(result, BaseException):
        raise result
    return result
