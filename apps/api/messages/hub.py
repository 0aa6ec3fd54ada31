"""One channel-layer channel per event loop for all its message sockets, instead of one each.

A socket used to take a channel of its own (a Redis subscription, an asyncio
queue in channels_redis, a listener task and a receive task waiting on it),
about 8 KB an idle socket, and its sign-in waited for two subscriptions to be
confirmed. Here the process's sockets share one channel: the hub adds that
channel to a group when the first local socket joins it, and discards it when
the last one leaves; one task receives every event and hands it to the
members of the group it was sent to. The group travels in the event
(`GROUP_KEY`, set by the channel layer's group sends, catfeeder/channel_layer.py):
a pub/sub message does not say which group it came through.

A member takes its events with `deliver()`, in order, without waiting: what it
does with them (in a task of its own, one event at a time) never holds up the
hub or the other sockets.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from typing import Any, Protocol

from channels.layers import get_channel_layer

logger = logging.getLogger("apps.api.messages")

GROUP_KEY = "__group__"  # the group an event was sent to, in the event itself
RETRY = 1.0  # seconds before receiving again after a channel-layer error


class Member(Protocol):
    def deliver(self, event: dict[str, Any]) -> None:
        """Take an event of a group the member joined; must not block."""


class Hub:
    def __init__(self, layer: Any) -> None:
        self.layer = layer
        self.channel = ""
        self.members: dict[str, set[Member]] = {}
        self.subscribed: set[str] = set()  # groups the channel is confirmed in
        self.joining: dict[str, asyncio.Future[None]] = {}  # group_add in flight, shared by its joiners
        self.opening: asyncio.Lock = asyncio.Lock()
        self.task: asyncio.Task[None] | None = None

    async def join(self, group: str, member: Member) -> None:
        """`member` gets the group's events from now on; returns once the subscription holds."""
        await self.open()
        self.members.setdefault(group, set()).add(member)
        if group in self.subscribed:
            await self.confirm(group, member)
            return
        adding = self.joining.get(group)
        if adding is None:
            adding = self.joining[group] = asyncio.ensure_future(self.layer.group_add(group, self.channel))
            adding.add_done_callback(lambda done: self.added(group, done))
        try:
            await asyncio.shield(adding)  # a joiner past its deadline leaves the others their subscription
        except BaseException:
            self.forget(group, member)
            raise

    async def confirm(self, group: str, member: Member) -> None:
        """The group's subscription holds now: after a Redis restart the layer subscribes again a
        moment later, and an event published before that is lost. (A layer that cannot tell
        has nothing to wait for.)"""
        confirm = getattr(self.layer, "group_confirm", None)
        if confirm is None:
            return
        try:
            await confirm(group)
        except BaseException:
            self.forget(group, member)
            raise

    def added(self, group: str, done: asyncio.Future[None]) -> None:
        self.joining.pop(group, None)
        if done.cancelled() or done.exception() is not None:
            return
        self.subscribed.add(group)
        if not self.members.get(group):  # every joiner gave up meanwhile: nobody to hear it
            self.members.pop(group, None)
            self.subscribed.discard(group)
            asyncio.ensure_future(self.discard(group))

    async def discard(self, group: str) -> None:
        with contextlib.suppress(Exception):  # the layer may be down; the subscription goes with the process
            await self.layer.group_discard(group, self.channel)

    async def leave(self, group: str, member: Member) -> None:
        """`member` gets no more of the group's events; the last one out unsubscribes the group."""
        if self.forget(group, member) and group in self.subscribed:
            self.subscribed.discard(group)
            # channels_redis queues this unsubscribe ahead of a later join's subscribe (one lock per host)
            await self.discard(group)

    def forget(self, group: str, member: Member) -> bool:
        """Drop `member` from `group`; True if it was the last and no join is in flight."""
        members = self.members.get(group)
        if members is None:
            return False
        members.discard(member)
        if members or group in self.joining:
            return False
        del self.members[group]
        return True

    async def open(self) -> None:
        if self.channel and self.task is not None and not self.task.done():
            return
        async with self.opening:
            if not self.channel:
                self.channel = await self.layer.new_channel("hub.")
            if self.task is None or self.task.done():
                self.task = asyncio.get_running_loop().create_task(self.run())

    async def run(self) -> None:
        while True:
            try:
                event = await self.layer.receive(self.channel)
            except Exception:  # noqa: BLE001 - a layer outage must not end the hub
                logger.warning("channel layer receive failed; retrying", exc_info=True)
                await asyncio.sleep(RETRY)
                continue
            group = event.get(GROUP_KEY)
            for member in tuple(self.members.get(group, ())):
                try:
                    member.deliver(event)
                except Exception:  # one member's failure must not stop the others
                    logger.exception("delivering %s to a socket failed", event.get("type"))


_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub] = weakref.WeakKeyDictionary()


def hub() -> Hub:
    """The hub of the running event loop, on the project's channel layer."""
    loop = asyncio.get_running_loop()
    found = _hubs.get(loop)
    if found is None:
        found = _hubs[loop] = Hub(get_channel_layer())
    return found


async def leave_all(groups: list[str], member: Member) -> None:
    """`member` leaves each of `groups`."""
    for group in groups:
        await hub().leave(group, member)
