"""A socket's channel-layer listener ends with its connection, even when a receive()
swallowed the cancellation meant to stop it.

Python 3.11's asyncio.wait_for swallows a cancellation that lands as its inner
send completes, and redis-py sends every command through it: channels_redis then
simply keeps waiting for the next event. That race cannot be started on demand,
so the layer here is the real in-memory layer with the same behaviour made
certain: its receive ignores one cancellation and goes on waiting.
"""

from __future__ import annotations

import asyncio
from typing import Any

from channels.layers import InMemoryChannelLayer, get_channel_layer
from channels.testing import WebsocketCommunicator
from django.test import override_settings

from apps.api.messages import Caller, CallerKind
from apps.api.messages.core import owner_group
from apps.api.messages.publish import PUSH
from apps.api.messages.socket import MessageSocket

PATIENCE = 10.0  # seconds: generous on a shared machine; a listener that never ends fails the test
OWNER_ID = 4242  # a group name only: nothing is read from the database


class SwallowingLayer(InMemoryChannelLayer):
    """The in-memory layer, with a receive that survives one cancellation (as the race makes it)."""

    async def receive(self, channel: str) -> dict[str, Any]:
        try:
            return await super().receive(channel)  # type: ignore[no-any-return]
        except asyncio.CancelledError:
            return await super().receive(channel)  # type: ignore[no-any-return]


class OwnerSocket(MessageSocket):
    """A message socket that is an owner from its handshake on: it listens to the owner's group."""

    route = "app"

    async def handshake(self) -> Caller:
        return Caller(CallerKind.OWNER, id=OWNER_ID)


def waiting() -> list[asyncio.Task[Any]]:
    """The socket's listener and the layer receives it started."""
    names = {"MessageSocket.listen", "SwallowingLayer.receive"}
    return [t for t in asyncio.all_tasks() if getattr(t.get_coro(), "__qualname__", "") in names]


@override_settings(CHANNEL_LAYERS={"default": {"BACKEND": f"{__name__}.SwallowingLayer"}})
def test_the_listener_ends_with_the_connection_though_its_receive_swallowed_the_cancellation() -> None:
    async def scenario() -> tuple[bool, list[asyncio.Task[Any]]]:
        socket = WebsocketCommunicator(OwnerSocket.as_asgi(), "/ws/app/")
        connected, _ = await socket.connect(timeout=PATIENCE)
        await get_channel_layer().group_send(owner_group(OWNER_ID), {"type": PUSH, "text": '{"type": "Ping"}'})
        heard = await socket.receive_from(timeout=PATIENCE) == '{"type": "Ping"}'  # the listener works
        await socket.disconnect(timeout=PATIENCE)  # cancels the listener: its receive swallows that
        running = waiting()
        await asyncio.wait(running, timeout=PATIENCE)
        return connected and heard, [task for task in running if not task.done()]

    served, still_waiting = asyncio.run(scenario())
    assert served
    assert still_waiting == []
