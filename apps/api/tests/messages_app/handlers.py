from __future__ import annotations

from django.core.cache import cache
from django.db import connection

from apps.api.messages import ANYONE, Context, Message, registry
from apps.api.messages.examples import Output


class Boom(Message):
    """A handler that fails the way a bug does."""

    n: int


class AsyncBoom(Message):
    """The same, from an async handler."""

    n: int


class Echo(Message):
    """Answers, then pushes one more message to the caller."""

    value: float


@registry.handler(Boom, replies=Output, callers=ANYONE, documented=False)
def boom(message: Boom, context: Context) -> Output:
    raise RuntimeError("secret database password is hunter2")


@registry.handler(AsyncBoom, replies=Output, callers=ANYONE, documented=False)
async def async_boom(message: AsyncBoom, context: Context) -> Output:
    raise RuntimeError("secret database password is hunter2")


@registry.handler(Echo, replies=Output, callers=ANYONE, pure=True, documented=False)
def echo(message: Echo, context: Context) -> Output:
    context.push(Output(value=message.value * 2))
    return Output(value=message.value)


class DatabasePing(Message):
    """Asks the database for one row: no table, so a cluster of a test's own needs no migration."""


class CachePing(Message):
    """Writes and reads one key of the cache (Redis)."""


@registry.handler(DatabasePing, replies=Output, callers=ANYONE, documented=False)
def database_ping(message: DatabasePing, context: Context) -> Output:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        (value,) = cursor.fetchone()
    return Output(value=value)


@registry.handler(CachePing, replies=Output, callers=ANYONE, documented=False)
def cache_ping(message: CachePing, context: Context) -> Output:
    cache.set("messages-test:ping", 1.0, timeout=60)
    return Output(value=cache.get("messages-test:ping"))
