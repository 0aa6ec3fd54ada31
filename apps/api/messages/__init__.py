"""The typed message framework: one registry, two transports (HTTP, WebSocket).

Register a message and its handler (see examples.py and the README):

    @registry.handler(Multiply, replies=Output, callers=ANYONE, safe=True, pure=True)
    def multiply(message: Multiply, context: Context) -> Output: ...
"""

from __future__ import annotations

from apps.api.messages.core import (
    ANONYMOUS,
    ANYONE,
    DEVICES,
    OWNERS,
    Caller,
    CallerKind,
    Context,
    Message,
    MessageError,
    device_group,
    owner_group,
    registry,
)

__all__ = [
    "ANONYMOUS",
    "ANYONE",
    "DEVICES",
    "OWNERS",
    "Caller",
    "CallerKind",
    "Context",
    "Message",
    "MessageError",
    "device_group",
    "owner_group",
    "registry",
]
