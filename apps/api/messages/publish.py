"""Messages to sockets through the channel layer.

The channel layer is at-most-once (it drops messages over capacity), so only
notifications travel this way on their own; anything that must arrive (a feed
command) is a database row first and is re-sent from there.
"""

from __future__ import annotations

from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from apps.api.messages.core import Caller, Message
from apps.api.messages.dispatch import encode

PUSH = "message.push"  # the layer event a socket forwards to its client as is


def push_event(message: Message) -> dict[str, Any]:
    return {"type": PUSH, "text": encode(message)}


async def push_to_caller(caller: Caller, message: Message) -> None:
    if caller.group is not None:
        await get_channel_layer().group_send(caller.group, push_event(message))


def group_event_now(group: str, event: dict[str, Any]) -> None:
    group_events_now([(group, event)])


def group_events_now(events: list[tuple[str, dict[str, Any]]]) -> None:
    """Send many (group, event) pairs at once, in a few round trips (a worker delivering a batch).

    Blocking, from a thread: a layer that can send from this thread (group_send_many_now)
    does; any other goes through an event loop.
    """
    layer = get_channel_layer()
    now = getattr(layer, "group_send_many_now", None)
    if now is not None:
        now(events)
    elif hasattr(layer, "group_send_many"):
        async_to_sync(layer.group_send_many)(events)
    else:
        for group, event in events:
            async_to_sync(layer.group_send)(group, event)


def group_event(group: str, event: dict[str, Any]) -> None:
    """Send `event` to `group` once the current transaction commits (at once outside one)."""
    # robust: a layer that is down is logged, not raised into a write that has committed.
    transaction.on_commit(lambda: group_event_now(group, event), robust=True)


def group_push(group: str, message: Message) -> None:
    """Push `message` to every socket in `group` after commit."""
    group_event(group, push_event(message))


def group_push_many(group: str, messages: list[Message]) -> None:
    """Push `messages`, in order, to every socket in `group` after commit, in one channel-layer call."""
    group_pushes([(group, message) for message in messages])


def group_pushes(pushes: list[tuple[str, Message]]) -> None:
    """Push each (group, message), in order, after commit, in one channel-layer call."""
    pairs = [(group, push_event(message)) for group, message in pushes]
    transaction.on_commit(lambda: group_events_now(pairs), robust=True)
