"""The documented example (README, "Adding a message"): ansar-connect's crunch
server, done with typed errors. Anyone may call these, over HTTP or a socket:

    GET /api/messages/Multiply?x=1.5&y=2.25   ->  {"type": "Output", "value": 3.375}
"""

from __future__ import annotations

import math

from apps.api.messages.core import ANYONE, Context, Message, MessageError, registry


class Multiply(Message):
    """Multiply x by y."""

    x: float
    y: float


class Divide(Message):
    """Divide x by y."""

    x: float
    y: float


class Output(Message):
    """The result of an arithmetic message."""

    value: float


def _finite(value: float) -> Output:
    if not math.isfinite(value):  # 1e308 * 10: JSON has no infinity, so say so
        raise MessageError("out_of_range", "The result is too large to represent.")
    return Output(value=value)


@registry.handler(Multiply, replies=Output, callers=ANYONE, safe=True, pure=True)
def multiply(message: Multiply, context: Context) -> Output:
    return _finite(message.x * message.y)


@registry.handler(Divide, replies=Output, callers=ANYONE, safe=True, pure=True)
def divide(message: Divide, context: Context) -> Output:
    if message.y == 0:
        raise MessageError("division_by_zero", "Cannot divide by zero.")
    return _finite(message.x / message.y)
