"""The project's channel layer (channels_redis' pub/sub layer) on real Redis servers.

These pin what the project relies on from channels_redis and redis-py: a
cancelled receive() ends, each socket gets its own messages in order however
many share a process, a group send reaches the group's sockets in other
layer instances (processes), and after a Redis restart the hosts' retry
option makes the next command work while redis-py subscribes again to what
the process had subscribed to.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import signal
from typing import Any

import pytest
from channels_redis.pubsub import RedisPubSubChannelLayer
from django.conf import settings
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from apps.api.messages.hub import GROUP_KEY
from catfeeder.channel_layer import GROUP_CHANNEL, OutageNotice, RedisChannelLayer, host_index
from catfeeder.redis_options import channel_layer_host, channel_layer_prefix
from catfeeder.testing import redis_url_with_db
from tests.support.tcp_redis import TcpRedis

STEPS = 40  # event-loop turns: past connecting and subscribing, into the queue read
PATIENCE = 10.0  # seconds: generous; a test that passes never waits this long

pytestmark = pytest.mark.usefixtures("redis_url")


def layer() -> RedisChannelLayer:
    return RedisChannelLayer(**settings.CHANNEL_LAYERS["default"]["CONFIG"])


def test_the_project_layer_is_channels_redis_pubsub_layer_with_a_retry() -> None:
    assert settings.CHANNEL_LAYERS["default"]["BACKEND"] == "catfeeder.channel_layer.RedisChannelLayer"
    assert isinstance(layer().layer, RedisPubSubChannelLayer)
    host = settings.CHANNEL_LAYERS["default"]["CONFIG"]["hosts"][0]
    assert host["retry"].get_retries() >= 1


async def cancelled_after(steps: int) -> bool:
    """Start a receive on a new layer, cancel it after `steps` loop turns: did it end cancelled?"""
    fresh = layer()
    channel = await fresh.new_channel()
    receive = asyncio.ensure_future(fresh.receive(channel))
    for _ in range(steps):
        await asyncio.sleep(0)
    receive.cancel()
    await asyncio.wait({receive}, timeout=PATIENCE)
    ended = receive.cancelled()
    await fresh.flush()
    return ended


def test_a_receive_cancelled_at_any_step_ends_cancelled() -> None:
    async def sweep() -> list[int]:
        return [steps for steps in range(STEPS) if not await cancelled_after(steps)]

    assert asyncio.run(sweep()) == []


def test_each_socket_of_a_process_gets_its_own_messages_in_order() -> None:
    async def scenario() -> dict[str, list[int]]:
        sender, ours = layer(), layer()
        channels = [await ours.new_channel() for _ in range(3)]
        for n in range(300):
            await sender.send(channels[n % 3], {"type": "n", "n": n})
        got: dict[str, list[int]] = {channel: [] for channel in channels}
        for channel in channels:
            for _ in range(100):
                got[channel].append((await asyncio.wait_for(ours.receive(channel), PATIENCE))["n"])
        for each in (sender, ours):
            await each.flush()
        return got

    for index, numbers in enumerate(asyncio.run(scenario()).values()):
        assert numbers == list(range(index, 300, 3))


@pytest.mark.parametrize(
    ("url", "prefix"),
    [("redis://h:6379/0", "asgi"), ("redis://h:6379", "asgi"), ("redis://h:6379/3", "asgi-db3-"),
     ("unix:///run/r.sock?db=12", "asgi-db12-"), ("unix:///run/r.sock", "asgi")],
)  # fmt: skip
def test_the_prefix_names_the_database(url: str, prefix: str) -> None:
    assert channel_layer_prefix(url) == prefix


def test_a_group_on_another_database_of_the_same_server_hears_nothing() -> None:
    """Redis pub/sub ignores database numbers: the prefix keeps two databases' groups apart."""

    def on_db(db: int) -> RedisChannelLayer:
        url = redis_url_with_db(settings.REDIS_URL, db)
        return RedisChannelLayer(hosts=[channel_layer_host(url)], prefix=channel_layer_prefix(url))

    async def scenario() -> tuple[dict[str, Any], bool]:
        here, there = on_db(14), on_db(15)  # subscriptions only: no key is written in either database
        ours, theirs = await here.new_channel(), await there.new_channel()
        await here.group_add("device-1", ours)
        await there.group_add("device-1", theirs)
        await here.group_send("device-1", {"type": "feed.now", "n": 1})
        got = await asyncio.wait_for(here.receive(ours), PATIENCE)
        try:
            await asyncio.wait_for(there.receive(theirs), 0.5)
            crossed = True
        except TimeoutError:
            crossed = False
        for each in (here, there):
            await each.flush()
        return got, crossed

    got, crossed = asyncio.run(scenario())
    assert got["n"] == 1
    assert not crossed


def test_group_send_many_reaches_every_member_of_each_group_in_order() -> None:
    async def scenario() -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
        web_1, web_2, worker = layer(), layer(), layer()
        a1, a2, b = await web_1.new_channel(), await web_2.new_channel(), await web_1.new_channel()
        await web_1.group_add("g-a", a1)
        await web_2.group_add("g-a", a2)
        await web_1.group_add("g-b", b)
        sends = [("g-a", {"type": "t", "n": n}) for n in range(3)] + [("g-b", {"type": "t", "n": 9})]
        sends += [("g-nobody", {"type": "t", "n": -1}), ("g-a", {"type": "t", "n": 3})]
        await worker.group_send_many(sends)

        async def drain(which: RedisChannelLayer, channel: str, count: int) -> list[dict[str, Any]]:
            return [await asyncio.wait_for(which.receive(channel), PATIENCE) for _ in range(count)]

        got = await drain(web_1, a1, 4), await drain(web_2, a2, 4), await drain(web_1, b, 1)
        for each in (web_1, web_2, worker):
            await each.flush()
        return got

    on_a1, on_a2, on_b = asyncio.run(scenario())
    assert [m["n"] for m in on_a1] == [0, 1, 2, 3]
    assert [m["n"] for m in on_a2] == [0, 1, 2, 3]
    assert on_b == [{"type": "t", "n": 9, GROUP_KEY: "g-b"}]  # the group named (for the sockets' hub)


def test_a_meal_slot_of_thousands_of_messages_reaches_a_process_whole() -> None:
    """No capacity drops a burst: every socket of the process gets all of its messages."""

    async def scenario() -> int:
        sender, ours = layer(), layer()
        sockets = [await ours.new_channel() for _ in range(5)]
        for index, channel in enumerate(sockets):
            await ours.group_add(f"g-feeder-{index}", channel)
        sends = [(f"g-feeder-{n % 5}", {"type": "feed_now", "n": n}) for n in range(3000)]
        for start in range(0, len(sends), 50):  # as delivery tasks send them
            await sender.group_send_many(sends[start : start + 50])
        got = 0
        for channel in sockets:
            for _ in range(600):
                await asyncio.wait_for(ours.receive(channel), PATIENCE)
                got += 1
        for each in (sender, ours):
            await each.flush()
        return got

    assert asyncio.run(scenario()) == 3000


def test_after_a_redis_restart_new_and_old_subscriptions_work_at_once(tcp_redis: TcpRedis) -> None:
    """A restart closes every pooled connection; the next command reconnects (the hosts' retry),
    and channels and groups subscribed before the restart get messages again (redis-py's PubSub
    subscribes again on reconnect), though the restarted Redis kept nothing."""

    def on_private_redis() -> RedisChannelLayer:
        return RedisChannelLayer(hosts=[channel_layer_host(tcp_redis.url)])

    async def restart() -> None:
        await asyncio.get_running_loop().run_in_executor(None, tcp_redis.restart)  # the loop runs meanwhile

    async def round_trip(web: RedisChannelLayer, worker: RedisChannelLayer, group: str, channel: str) -> Any:
        await worker.group_send(group, {"type": "t", "group": group})
        return (await asyncio.wait_for(web.receive(channel), PATIENCE))["group"]

    async def scenario() -> tuple[list[Any], list[Any]]:
        web, worker = on_private_redis(), on_private_redis()
        old = [await web.new_channel() for _ in range(3)]
        for n, channel in enumerate(old):
            await web.group_add(f"old-{n}", channel)
        assert [await round_trip(web, worker, f"old-{n}", c) for n, c in enumerate(old)] == ["old-0", "old-1", "old-2"]
        await restart()
        new = []
        for n in range(10):  # as sockets do in their handshake
            channel = await web.new_channel()
            await web.group_add(f"new-{n}", channel)
            new.append(await round_trip(web, worker, f"new-{n}", channel))
        again = [await round_trip(web, worker, f"old-{n}", c) for n, c in enumerate(old)]
        for each in (web, worker):
            await each.flush()
        return new, again

    new, again = asyncio.run(scenario())
    assert new == [f"new-{n}" for n in range(10)]
    assert again == ["old-0", "old-1", "old-2"]


def test_an_outage_is_one_log_line_not_a_traceback_a_second(tcp_redis: TcpRedis) -> None:
    """Pins channels_redis' receive-task log message, which OutageNotice shortens."""
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("channels_redis.pubsub")
    logger.addHandler(handler)
    for notice in logger.filters:
        if isinstance(notice, OutageNotice):
            notice.last = -math.inf  # an earlier test's restart may have used this half-minute's line

    async def scenario() -> None:
        web = RedisChannelLayer(hosts=[channel_layer_host(tcp_redis.url)])
        await web.new_channel()
        await asyncio.sleep(0.3)  # its receive task is reading
        tcp_redis.stop()
        await asyncio.sleep(3.5)  # channels_redis' receive task fails about once a second meanwhile
        await web.flush()

    try:
        asyncio.run(scenario())
    finally:
        logger.removeHandler(handler)
    assert len(records) == 1
    assert records[0].levelno == logging.WARNING
    assert records[0].getMessage().startswith("channel layer: Redis connection lost")
    assert records[0].exc_info is None


def test_a_process_stopping_with_receives_pending_logs_no_traceback() -> None:
    """channels_redis logs a cancelled receive's cancelled unsubscribe; OutageNotice drops it (pinned here)."""
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("channels_redis.pubsub")
    notice = next(f for f in logger.filters if isinstance(f, OutageNotice))
    dropped = notice.dropped
    logger.addHandler(handler)

    async def scenario() -> None:
        web = layer()
        receives = [asyncio.ensure_future(web.receive(await web.new_channel())) for _ in range(20)]
        await asyncio.sleep(0.2)
        for receive in receives:  # as sockets' teardowns do; asyncio.run then cancels their clean-ups
            receive.cancel()

    try:
        asyncio.run(scenario())
    finally:
        logger.removeHandler(handler)
    assert records == []
    assert notice.dropped > dropped


def test_subscriptions_work_at_once_after_a_restart_the_event_loop_did_not_see(tcp_redis: TcpRedis) -> None:
    """The loop is blocked while Redis restarts: the receive task and a socket's subscription find the
    dead connection together and race to reconnect it; the subscription's second try succeeds."""

    async def scenario() -> list[str]:
        web, worker = (RedisChannelLayer(hosts=[channel_layer_host(tcp_redis.url)]) for _ in range(2))
        await web.new_channel()
        await asyncio.sleep(0.3)  # its receive task is reading
        tcp_redis.restart()  # blocking: the loop sees nothing meanwhile
        got = []
        for n in range(3):
            channel = await web.new_channel()
            await web.group_add(f"blind-{n}", channel)
            await worker.group_send(f"blind-{n}", {"type": "t", "n": n})
            got.append(f"{(await asyncio.wait_for(web.receive(channel), PATIENCE))['n']}")
        for each in (web, worker):
            await each.flush()
        return got

    assert asyncio.run(scenario()) == ["0", "1", "2"]


def test_group_send_many_uses_the_groups_channel_and_host_of_channels_redis(tcp_redis: TcpRedis) -> None:
    """Pins GROUP_CHANNEL and host_index: over two hosts, every group's members get their events
    from group_send_many's pipelines as from the layer's own group_send."""
    second = TcpRedis()
    second.start()

    async def scenario() -> tuple[list[Any], list[Any], set[int]]:
        hosts = [channel_layer_host(tcp_redis.url), channel_layer_host(second.url)]
        web, worker = RedisChannelLayer(hosts=hosts, prefix="pin"), RedisChannelLayer(hosts=hosts, prefix="pin")
        groups = [f"pin-{n}" for n in range(12)]
        channels = []
        for group in groups:
            channel = await web.new_channel()
            await web.group_add(group, channel)
            channels.append(channel)
        await worker.group_send_many([(group, {"type": "t", "group": group}) for group in groups])
        ours = [(await asyncio.wait_for(web.receive(c), PATIENCE))["group"] for c in channels]
        for group in groups:
            await worker.layer.group_send(group, {"type": "t", "group": group})
        theirs = [(await asyncio.wait_for(web.receive(c), PATIENCE))["group"] for c in channels]
        used = {host_index(GROUP_CHANNEL.format(prefix="pin", group=g), 2) for g in groups}
        for each in (web, worker):
            await each.flush()
        return ours, theirs, used

    try:
        ours, theirs, used = asyncio.run(scenario())
    finally:
        second.stop()
    assert ours == theirs == [f"pin-{n}" for n in range(12)]
    assert used == {0, 1}  # both hosts took part


def test_a_subscription_to_a_hung_redis_is_refused_not_reported_done(tcp_redis: TcpRedis) -> None:
    """channels_redis writes SUBSCRIBE and reads no answer, so against a hung Redis (SIGSTOP) a group_add
    returned at once: a socket signed in, and the push its first request made was lost when the
    connection it was written on was replaced. A subscription returns once it holds, or raises
    and is undone."""
    assert tcp_redis.process is not None
    pid = tcp_redis.process.pid

    async def scenario() -> tuple[type[BaseException] | None, list[str]]:
        web, worker = (RedisChannelLayer(hosts=[channel_layer_host(tcp_redis.url)]) for _ in range(2))
        channel = await web.new_channel()
        await web.group_add("before", channel)
        os.kill(pid, signal.SIGSTOP)
        try:
            await web.group_add("hung", channel)
            refused = None
        except (RedisTimeoutError, RedisConnectionError) as exc:
            refused = type(exc)
        finally:
            os.kill(pid, signal.SIGCONT)
        await web.group_add("after", channel)  # Redis is back: this one holds when it returns
        await worker.group_send("hung", {"type": "t", "group": "hung"})  # not joined: never heard
        await worker.group_send("after", {"type": "t", "group": "after"})
        got = [(await asyncio.wait_for(web.receive(channel), PATIENCE))["group"]]
        for each in (web, worker):
            await each.flush()
        return refused, got

    try:
        refused, got = asyncio.run(scenario())
    finally:
        os.kill(pid, signal.SIGCONT)
    assert refused is not None
    assert got == ["after"]
