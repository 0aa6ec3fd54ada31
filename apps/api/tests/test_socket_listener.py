"""A socket hears its groups through the process's hub, and leaves nothing behind when it ends:
no task of its own still waiting, no membership, and the group unsubscribed once nobody is in it.

The socket has no channel-layer receive of its own to stop (the hub's one receive lives with the
process), so a receive that swallows a cancellation (Python 3.11's wait_for inside redis-py) can
no longer keep a closed socket's listener alive.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator

from apps.api.messages import Caller, CallerKind
from apps.api.messages.core import owner_group
from apps.api.messages.hub import hub
from apps.api.messages.publish import PUSH
from apps.api.messages.socket import MessageSocket

PATIENCE = 10.0  # seconds: generous on a shared machine
OWNER_ID = 4242  # a group name only: nothing is read from the database

pytestmark = pytest.mark.usefixtures("redis_url")


class OwnerSocket(MessageSocket):
    """A message socket that is an owner from its handshake on: it hears the owner's group."""

    route = "app"

    async def handshake(self) -> Caller:
        return Caller(CallerKind.OWNER, id=OWNER_ID)


def socket_tasks() -> list[asyncio.Task[Any]]:
    return [t for t in asyncio.all_tasks() if getattr(t.get_coro(), "__qualname__", "").startswith("MessageSocket.")]


def test_a_socket_hears_its_group_and_leaves_nothing_behind_when_it_ends() -> None:
    async def scenario() -> tuple[bool, list[asyncio.Task[Any]], bool]:
        socket = WebsocketCommunicator(OwnerSocket.as_asgi(), "/ws/app/")
        connected, _ = await socket.connect(timeout=PATIENCE)
        await get_channel_layer().group_send(owner_group(OWNER_ID), {"type": PUSH, "text": '{"type": "Ping"}'})
        heard = await socket.receive_from(timeout=PATIENCE) == '{"type": "Ping"}'
        await socket.disconnect(timeout=PATIENCE)
        left = socket_tasks()
        if left:
            await asyncio.wait(left, timeout=PATIENCE)
        group = owner_group(OWNER_ID)
        gone = group not in hub().members and group not in hub().subscribed
        await get_channel_layer().flush()
        return connected and heard, [task for task in left if not task.done()], gone

    served, still_waiting, gone = asyncio.run(scenario())
    assert served
    assert still_waiting == []
    assert gone
