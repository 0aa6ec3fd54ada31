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

from catfeeder.channel_layer import RedisChannelLayer

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
