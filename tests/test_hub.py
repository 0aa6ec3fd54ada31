"""The sockets' hub (apps/api/messages/hub.py) on the project's channel layer and a real Redis:
one channel per process, a group's events to its members only, the last one out unsubscribes."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from django.conf import settings

from apps.api.messages.hub import GROUP_KEY, Hub
from catfeeder.channel_layer import RedisChannelLayer

PATIENCE = 10.0  # seconds: generous; a test that passes never waits this long

pytestmark = pytest.mark.usefixtures("redis_url")


class Member:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.arrived = asyncio.Event()

    def deliver(self, event: dict[str, Any]) -> None:
        self.events.append(event)
        self.arrived.set()

    async def next(self) -> dict[str, Any]:
        await asyncio.wait_for(self.arrived.wait(), PATIENCE)
        self.arrived.clear()
        return self.events[-1]


def layer() -> RedisChannelLayer:
    return RedisChannelLayer(**settings.CHANNEL_LAYERS["default"]["CONFIG"])


def test_a_groups_events_reach_its_members_only_through_one_channel() -> None:
    async def scenario() -> tuple[list[int], list[int], list[int], set[str]]:
        ours, sender = layer(), layer()  # two processes, as far as the layer knows
        hub = Hub(ours)
        first, second, elsewhere = Member(), Member(), Member()
        await hub.join("hub-a", first)
        await hub.join("hub-a", second)
        await hub.join("hub-b", elsewhere)
        await sender.group_send("hub-a", {"type": "t", "n": 1})
        got = [(await first.next())["n"], (await second.next())["n"]]
        await hub.leave("hub-a", first)
        await sender.group_send("hub-a", {"type": "t", "n": 2})
        got.append((await second.next())["n"])
        await sender.group_send("hub-b", {"type": "t", "n": 3})
        got.append((await elsewhere.next())["n"])
        channels = {hub.channel}
        for each in (ours, sender):
            await each.flush()
        return got, [e["n"] for e in first.events], [e["n"] for e in elsewhere.events], channels

    got, firsts, elsewheres, channels = asyncio.run(scenario())
    assert got == [1, 1, 2, 3]
    assert firsts == [1]  # nothing after it left
    assert elsewheres == [3]  # nothing of the other group
    assert len(channels) == 1


def test_the_last_member_out_unsubscribes_the_group_and_a_new_one_subscribes_it_again() -> None:
    async def scenario() -> tuple[bool, int]:
        ours, sender = layer(), layer()
        hub = Hub(ours)
        old, new = Member(), Member()
        await hub.join("hub-c", old)
        await hub.leave("hub-c", old)
        unsubscribed = "hub-c" not in hub.subscribed and "hub-c" not in hub.members
        await hub.join("hub-c", new)  # a feeder reconnecting to the same process
        await sender.group_send("hub-c", {"type": "t", "n": 7})
        n = (await new.next())["n"]
        for each in (ours, sender):
            await each.flush()
        return unsubscribed, n

    assert asyncio.run(scenario()) == (True, 7)


def test_a_group_send_names_its_group_in_the_event() -> None:
    async def scenario() -> dict[str, Any]:
        ours = layer()
        hub = Hub(ours)
        member = Member()
        await hub.join("hub-d", member)
        await ours.group_send_many([("hub-d", {"type": "t"})])  # the delivery tasks' batch send
        event = await member.next()
        await ours.flush()
        return event

    assert asyncio.run(scenario())[GROUP_KEY] == "hub-d"
