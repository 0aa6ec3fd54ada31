"""The project's channel layer on the real Redis: a cancelled receive() always ends.

On Python 3.11 redis-py's sends go through `asyncio.wait_for`, which swallows a
cancellation that lands as the send completes; channels_redis then blocks in
BZPOPMIN again. These tests cancel a receive at every early step of its life
(connect, handshake, clean-up script, pop) on a fresh connection each time.
"""

from __future__ import annotations

import asyncio

import pytest
from django.conf import settings

from catfeeder.channel_layer import RECEIVE_BATCH, TAKE_SCRIPT, RedisChannelLayer

STEPS = 40  # event-loop turns: past connecting, the clean-up script and into the blocking pop
PATIENCE = 10.0  # seconds: a receive that ignored its cancellation would block for ever


def layer() -> RedisChannelLayer:
    return RedisChannelLayer(**settings.CHANNEL_LAYERS["default"]["CONFIG"])


async def cancelled_after(steps: int) -> bool:
    """Start a receive on a new connection, cancel it after `steps` loop turns: did it end cancelled?"""
    fresh = layer()
    channel = await fresh.new_channel()
    receive = asyncio.ensure_future(fresh.receive(channel))
    for _ in range(steps):
        await asyncio.sleep(0)
    receive.cancel()
    await asyncio.wait({receive}, timeout=PATIENCE)
    ended = receive.cancelled()
    await fresh.close_pools()
    return ended


@pytest.mark.usefixtures("redis_url")
def test_the_project_layer_is_this_one() -> None:
    assert settings.CHANNEL_LAYERS["default"]["BACKEND"] == "catfeeder.channel_layer.RedisChannelLayer"
    host = settings.CHANNEL_LAYERS["default"]["CONFIG"]["hosts"][0]
    assert host["socket_timeout"] > layer().brpop_timeout  # an idle pop returns before the read times out


@pytest.mark.usefixtures("redis_url")
def test_a_receive_cancelled_at_any_step_ends_cancelled() -> None:
    async def sweep() -> list[int]:
        return [steps for steps in range(STEPS) if not await cancelled_after(steps)]

    assert asyncio.run(sweep()) == []


@pytest.mark.usefixtures("redis_url")
def test_a_receive_still_gets_what_is_sent_after_an_idle_pop() -> None:
    async def scenario() -> dict[str, object]:
        ours = layer()
        channel = await ours.new_channel()
        receive = asyncio.ensure_future(ours.receive(channel))
        await asyncio.sleep(ours.brpop_timeout + 1)  # one BZPOPMIN came back empty meanwhile
        await ours.send(channel, {"type": "hello", "n": 1})
        try:
            return await asyncio.wait_for(receive, PATIENCE)
        finally:
            await ours.close_pools()

    assert asyncio.run(scenario()) == {"type": "hello", "n": 1}


@pytest.mark.usefixtures("redis_url")
def test_a_process_takes_a_backlog_in_batches_and_every_socket_gets_its_own_in_order() -> None:
    async def scenario() -> tuple[dict[str, list[int]], int]:
        sender, ours = layer(), layer()
        channels = [await ours.new_channel() for _ in range(3)]
        for n in range(RECEIVE_BATCH + 50):  # more than one take
            await sender.send(channels[n % 3], {"type": "n", "n": n})
        got: dict[str, list[int]] = {channel: [] for channel in channels}
        for channel in channels:
            while len(got[channel]) < len(range(channels.index(channel), RECEIVE_BATCH + 50, 3)):
                got[channel].append((await asyncio.wait_for(ours.receive(channel), PATIENCE))["n"])
        await asyncio.sleep(0.1)  # the last take's backup is cleared
        left = await ours.connection(0).zcard(ours.prefix + ours.non_local_name(channels[0]))
        await sender.close_pools()
        await ours.close_pools()
        return got, left

    got, left = asyncio.run(scenario())
    for index, numbers in enumerate(got.values()):
        assert numbers == list(range(index, RECEIVE_BATCH + 50, 3))
    assert left == 0


@pytest.mark.usefixtures("redis_url")
def test_a_receive_cancelled_after_its_take_loses_nothing() -> None:
    """The taken messages wait in the backup until buffered: a receive cancelled meanwhile gets them again."""

    async def scenario() -> list[int]:
        sender, ours = layer(), layer()
        channel = await ours.new_channel()
        for n in range(5):
            await sender.send(channel, {"type": "n", "n": n})
        key = ours.prefix + ours.non_local_name(channel)
        # A take whose receive died before buffering: the messages sit in the backup only.
        await ours.connection(0).eval(TAKE_SCRIPT, 2, key, ours._backup_channel_name(key), RECEIVE_BATCH)
        got = [(await asyncio.wait_for(ours.receive(channel), PATIENCE))["n"] for _ in range(5)]
        await sender.close_pools()
        await ours.close_pools()
        return got

    assert asyncio.run(scenario()) == [0, 1, 2, 3, 4]


@pytest.mark.usefixtures("redis_url")
def test_group_send_many_reaches_every_member_of_each_group_in_order() -> None:
    async def scenario() -> tuple[list[dict[str, object]], list[dict[str, object]], list[dict[str, object]]]:
        web_1, web_2, worker = layer(), layer(), layer()
        a1, a2, b = await web_1.new_channel(), await web_2.new_channel(), await web_1.new_channel()
        await worker.group_add("g-a", a1)
        await worker.group_add("g-a", a2)
        await worker.group_add("g-b", b)
        sends = [("g-a", {"type": "t", "n": n}) for n in range(3)] + [("g-b", {"type": "t", "n": 9})]
        sends += [("g-nobody", {"type": "t", "n": -1}), ("g-a", {"type": "t", "n": 3})]
        await worker.group_send_many(sends)

        async def drain(which: RedisChannelLayer, channel: str, count: int) -> list[dict[str, object]]:
            return [await asyncio.wait_for(which.receive(channel), PATIENCE) for _ in range(count)]

        got = await drain(web_1, a1, 4), await drain(web_2, a2, 4), await drain(web_1, b, 1)
        for each in (web_1, web_2, worker):
            await each.flush()
            await each.close_pools()
        return got

    on_a1, on_a2, on_b = asyncio.run(scenario())
    assert [m["n"] for m in on_a1] == [0, 1, 2, 3]
    assert [m["n"] for m in on_a2] == [0, 1, 2, 3]
    assert on_b == [{"type": "t", "n": 9}]


@pytest.mark.usefixtures("redis_url")
def test_group_send_many_drops_what_is_over_a_channels_capacity() -> None:
    async def scenario() -> int:
        config = {**settings.CHANNEL_LAYERS["default"]["CONFIG"], "capacity": 3, "channel_capacity": {}}
        small = RedisChannelLayer(**config)
        channel = await small.new_channel()
        await small.group_add("g-small", channel)
        await small.group_send_many([("g-small", {"type": "t", "n": n}) for n in range(5)])
        count = await small.connection(0).zcard(small.prefix + small.non_local_name(channel))
        await small.flush()
        await small.close_pools()
        return int(count)

    assert asyncio.run(scenario()) == 3


@pytest.mark.usefixtures("redis_url")
def test_a_web_process_holds_a_slot_of_thousands_of_sockets_messages() -> None:
    """Its sockets share one key: the project's layer keeps more than the per-channel 1,000 there."""

    async def scenario() -> tuple[int, int]:
        sender, ours = layer(), layer()
        sockets = [await ours.new_channel() for _ in range(5)]
        for index, channel in enumerate(sockets):
            await sender.group_add(f"g-feeder-{index}", channel)
        sends = [(f"g-feeder-{n % 5}", {"type": "feed_now", "n": n}) for n in range(3000)]
        for start in range(0, len(sends), 50):  # as delivery tasks send them
            await sender.group_send_many(sends[start : start + 50])
        queued = await ours.connection(0).zcard(ours.prefix + ours.non_local_name(sockets[0]))
        got = 0
        for channel in sockets:
            for _ in range(600):
                await asyncio.wait_for(ours.receive(channel), PATIENCE)
                got += 1
        for each in (sender, ours):
            await each.flush()
            await each.close_pools()
        return int(queued), got

    assert asyncio.run(scenario()) == (3000, 3000)
