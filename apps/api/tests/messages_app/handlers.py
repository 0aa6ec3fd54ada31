from __future__ import annotations

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
