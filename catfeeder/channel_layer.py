"""The project's channel layer: channels_redis' documented pub/sub layer, plus a batch send.

Why `RedisPubSubChannelLayer` and not channels_redis' core layer:

- Receiving is pushed. One connection per Redis host and process carries the
  messages of all its sockets to in-process queues: no blocking pop and no
  round trip per message (the core layer takes one message per four round
  trips, so a meal slot's 1,000 FeedNow queued behind the event loop), and a
  cancelled receive() is a cancelled queue read, which nothing can swallow.
- A group send is one PUBLISH, however many sockets are in the group.
- Group membership lives in the process that holds the sockets: nothing to
  expire, nothing left behind by a process that died, and after a Redis
  restart redis-py's PubSub subscribes again to every channel and group it
  had, so sockets connected before the restart keep getting their events
  (with the core layer, a restart without persistence emptied every group).

What it gives up: a message reaches whoever is subscribed when it is
published, once; nothing waits in Redis. Anything that must arrive (a feed
command) is a database row first and is re-sent from there; the rest are
notifications. Queues are in process memory and have no capacity.

Dead connections: the hosts' options (settings CHANNEL_LAYERS) give redis-py a
retry on a connection error, so the first command after a Redis restart
reconnects instead of failing on a pooled connection the server closed.
While Redis is away, channels_redis logs a traceback every second from its
receive task; OutageNotice turns that into one line every
OUTAGE_NOTICE_EVERY seconds. It also drops the traceback channels_redis logs
when a cancelled receive's unsubscribe is cancelled in turn (a socket's
teardown cancels until done; a stopping process cancels every task): the
subscription is dropped with the process or ignored, nothing is lost.
"""

from __future__ import annotations

import asyncio
import binascii
import collections
import contextlib
import logging
import math
import time
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

import redis
from channels_redis.pubsub import RedisPubSubChannelLayer
from channels_redis.utils import create_pool, decode_hosts
from redis import asyncio as aioredis
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

from apps.api.messages.hub import GROUP_KEY
from apps.infra.aio import cancel_until_done
from apps.infra.thread_clients import ThreadClients

GROUP_CHANNEL = "{prefix}__group__{group}"  # the Redis channel channels_redis' pub/sub layer gives a group
SUBSCRIBE_RETRY_AFTER = 0.2  # seconds before a failed subscription is tried again
PROBE_PREFIX = "probe."  # the channels only probes are sent to, one per process and host
PROBE_EVERY = 0.25  # seconds between probes: one published while the receive task reconnects is lost
CONFIRM_WITHIN = 10.0  # seconds: past the receive task's reconnect (a 1 s pause, 2 s timeouts), Redis is down
OUTAGE_NOTICE_EVERY = 30.0  # seconds between "Redis connection lost" lines during an outage
RECEIVE_TASK_FAILED = "Unexpected exception in receive task"  # channels_redis.pubsub's log messages
CLEANUP_FAILED = "Unexpected exception while cleaning-up channel:"


class RedisChannelLayer:
    """channels_redis' RedisPubSubChannelLayer, whose subscriptions hold once they return.

    Its subscriptions share one connection per host with the task that reads
    messages off it. When both find that connection dead at once (Redis has
    just restarted and the event loop was too busy to notice first), both
    reconnect it and one fails (redis-py reads the handshake's replies in two
    places); the next try finds it connected. A second failure is the
    caller's to answer.

    A subscription that returns is not yet one that holds: channels_redis
    writes SUBSCRIBE and reads no answer. Written while the receive task is
    reconnecting (its handshake with a Redis that was hung times out and drops
    the connection), it returns at once, even with Redis hung, and holds only
    after the receive task's next reconnect, a second or more later: a push
    published meanwhile, such as the one a sign-in's first request makes, is
    lost without a word. So new_channel and group_add return once a Probe has
    been through the connection the receive task reads.
    """

    extensions = ["groups", "flush"]

    def __init__(self, **config: Any) -> None:
        self.layer = RedisPubSubChannelLayer(**config)
        self.prefix = str(config.get("prefix", "asgi"))
        self.hosts = decode_hosts(config.get("hosts"))
        # channels_redis keeps a layer per event loop (async_to_sync runs its own); so do the probes
        self.probes: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[int, Probe]] = (
            weakref.WeakKeyDictionary()
        )
        self.publishers = [ThreadClients(sync_pool(host)) for host in self.hosts]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.layer, name)  # send, receive, group_discard, flush, ...

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        """channels_redis' group_send, the group named in the message: the sockets' hub shares one
        channel among all its groups (apps/api/messages/hub.py)."""
        await self.layer.group_send(group, {**message, GROUP_KEY: group})

    async def new_channel(self, prefix: str = "specific.") -> str:
        name: str = await again(lambda: self.layer.new_channel(prefix))
        await self.probe(name).confirm()
        return name

    async def group_add(self, group: str, channel: str) -> None:
        await again(lambda: self.layer.group_add(group, channel))
        try:
            await self.probe(GROUP_CHANNEL.format(prefix=self.prefix, group=group)).confirm()
        except BaseException:
            # not joined, as far as the caller knows: its socket must not get the group's events
            with contextlib.suppress(Exception):  # channels_redis drops the member before it unsubscribes
                await self.layer.group_discard(group, channel)
            raise

    async def group_confirm(self, group: str) -> None:
        """Return once this process's subscription to `group` holds (a Probe came back through it):
        a group joined before a Redis restart holds again only once the receive task reconnects."""
        await self.probe(GROUP_CHANNEL.format(prefix=self.prefix, group=group)).confirm()

    def probe(self, name: str) -> Probe:
        """The probe of the host that holds the Redis channel `name`, on the running loop."""
        index = host_index(name, len(self.hosts))
        probes = self.probes.setdefault(asyncio.get_running_loop(), {})
        if index not in probes:
            probes[index] = Probe(self.layer, index, len(self.hosts))
        return probes[index]

    async def group_send_many(self, sends: list[tuple[str, dict[str, Any]]]) -> None:
        """group_send of each (group, message), in order (a worker delivering a batch of commands).

        The layer's group_send costs a round trip each, which on a busy machine
        made a delivery task of 100 events wait about a second: here every
        PUBLISH for one host goes in one pipeline, on the Redis channel and host
        channels_redis uses for the group (GROUP_CHANNEL, host_index; pinned by
        tests/test_channel_layer.py, bounded in requirements.in).
        """
        for index, publishes in self.publishes(sends).items():
            client = aioredis.Redis(connection_pool=create_pool(self.hosts[index]))
            try:
                pipe = client.pipeline(transaction=False)
                for name, body in publishes:
                    pipe.publish(name, body)
                await pipe.execute()
            finally:
                await client.aclose(close_connection_pool=True)

    def group_send_many_now(self, sends: list[tuple[str, dict[str, Any]]]) -> None:
        """group_send_many from a thread, blocking, on that thread's own connection to each host.

        What a service sends after its commit (a feeder online, a command sent) goes out
        from the thread that committed: through the event loop it waited for a turn of
        the loop and for channels_redis' one lock per host, which its subscriptions hold
        too, and a storm of sign-ins queued there.
        """
        for index, publishes in self.publishes(sends).items():
            pipe = self.publishers[index].get().pipeline(transaction=False)
            for name, body in publishes:
                pipe.publish(name, body)
            pipe.execute()

    def publishes(self, sends: list[tuple[str, dict[str, Any]]]) -> dict[int, list[tuple[str, bytes]]]:
        """The PUBLISHes of `sends` per host: (Redis channel, serialized message), in order."""
        by_host: dict[int, list[tuple[str, bytes]]] = collections.defaultdict(list)
        for group, message in sends:
            name = GROUP_CHANNEL.format(prefix=self.prefix, group=group)
            body = self.layer.serialize({**message, GROUP_KEY: group})
            by_host[host_index(name, len(self.hosts))].append((name, body))
        return by_host


def sync_pool(host: dict[str, Any]) -> redis.ConnectionPool:
    """A blocking redis-py pool to a channels_redis `hosts` entry, with its timeouts and one retry."""
    options = {key: host[key] for key in ("socket_connect_timeout", "socket_timeout", "health_check_interval")
               if key in host}  # fmt: skip
    retry = Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,))
    return redis.ConnectionPool.from_url(host["address"], retry=retry, **options)


class Probe:
    """Confirms that the subscriptions written so far hold on one host: a message to a channel of
    its own comes back through the connection channels_redis' receive task reads.

    A probe published after a SUBSCRIBE was written comes back only through a
    connection that took that SUBSCRIBE (Redis reads it there by the same turn
    of its event loop) or one that subscribed again, at connect, to everything
    recorded (the SUBSCRIBE and the probe's channel alike). Callers that
    overlap share probes: one that comes back confirms every subscription
    written before it was sent. Not covered: a SUBSCRIBE written on a socket
    that redis-py replaced while its connect raced the receive task's.
    """

    def __init__(self, layer: RedisPubSubChannelLayer, index: int, hosts: int) -> None:
        self.layer, self.index, self.hosts = layer, index, hosts
        self.channel = ""
        self.sent = 0  # probes sent, numbered from 1
        self.back = 0  # the highest number come back
        self.lock = asyncio.Lock()

    async def confirm(self) -> None:
        want = self.sent + 1  # the first probe sent from now on
        async with self.lock:
            if self.back >= want:
                return
            try:
                async with asyncio.timeout(CONFIRM_WITHIN):
                    await self.until(want)
            except TimeoutError:
                raise RedisTimeoutError(f"channel layer: no probe came back within {CONFIRM_WITHIN:g} s") from None

    async def until(self, want: int) -> None:
        if not self.channel:
            self.channel = await self.new_channel()
        receive = asyncio.ensure_future(self.layer.receive(self.channel))
        try:
            while True:
                self.sent += 1
                await self.layer.send(self.channel, {"type": "layer.probe", "n": self.sent})
                done, _ = await asyncio.wait({receive}, timeout=PROBE_EVERY)
                if done:
                    self.back = max(self.back, int(receive.result()["n"]))
                    if self.back >= want:
                        return
                    receive = asyncio.ensure_future(self.layer.receive(self.channel))
        finally:
            if not receive.done():
                self.channel = ""  # a cancelled receive unsubscribes its channel: the next probe takes a new one
                await cancel_until_done(receive)

    async def new_channel(self) -> str:
        """A channel of the probe's own on its host (channels_redis picks the host by the name's hash;
        with several hosts, the names that land elsewhere stay unused)."""
        while True:
            name: str = await again(lambda: self.layer.new_channel(PROBE_PREFIX))
            if host_index(name, self.hosts) == self.index:
                return name


def host_index(name: str, hosts: int) -> int:
    """The host channels_redis picks for a channel or group name (CRC32 onto a 4,096-slot ring)."""
    if hosts == 1:
        return 0
    return int((binascii.crc32(name.encode()) & 0xFFF) / (4096 / hosts))


async def again(call: Callable[[], Awaitable[Any]]) -> Any:
    """`call()`, and once more after SUBSCRIBE_RETRY_AFTER if it fails."""
    try:
        return await call()
    except Exception:  # noqa: BLE001 - whatever the race raised; the second try tells
        await asyncio.sleep(SUBSCRIBE_RETRY_AFTER)
        return await call()


class OutageNotice(logging.Filter):
    """One short warning per OUTAGE_NOTICE_EVERY for channels_redis' receive-task tracebacks;
    none for a cancelled clean-up."""

    def __init__(self) -> None:
        super().__init__()
        self.last = -math.inf
        self.dropped = 0  # cancelled clean-ups not logged

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg == CLEANUP_FAILED and record.exc_info and isinstance(record.exc_info[1], asyncio.CancelledError):
            self.dropped += 1
            return False
        if record.msg != RECEIVE_TASK_FAILED or not record.exc_info:
            return True
        now = time.monotonic()
        if now - self.last < OUTAGE_NOTICE_EVERY:
            return False
        self.last = now
        record.msg, record.args = "channel layer: Redis connection lost (%s); reconnecting", (record.exc_info[1],)
        record.exc_info, record.exc_text = None, None
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


logging.getLogger("channels_redis.pubsub").addFilter(OutageNotice())
