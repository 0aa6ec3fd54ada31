"""The project's channel layer: channels_redis, with a receive() that always ends when cancelled.

Two facts meet here:

- redis-py 8 gives every read a 5 s socket timeout by default, exactly how long
  channels_redis blocks in BZPOPMIN: an idle receive() then fails every 5 s
  (channels' consumers close with 1011). Settings give the layer a longer
  socket timeout (CHANNEL_LAYERS, `socket_timeout`).
- On Python 3.11, `asyncio.wait_for` (redis-py sends every command through it)
  swallows a cancellation that arrives as the send completes. channels_redis
  then loops in BZPOPMIN as if nothing happened; with the longer socket
  timeout that loop never fails either, and whoever awaits the cancelled
  receive (channels' consumer teardown) waits for ever.

So the pop runs in a task of its own, and a cancelled receive() cancels that
task again until it has ended: a swallowed cancellation costs one more round,
not the consumer.

Every socket of a web process shares one Redis key (the process's "specific."
channel). channels_redis takes one message off it per four round trips (restore
the backup, BZPOPMIN, back the message up, clear the backup), each waiting for
an event-loop turn: a busy process drains a thousand FeedNow at a few hundred
a second. Here one script restores the backup and moves up to RECEIVE_BATCH
messages into it, and one command clears it: the same at-least-once backup, per
batch instead of per message.

A worker delivering a batch of feed commands sends one event to each of many
groups; channels_redis's group_send costs four round trips each.
`group_send_many` looks every group up in one pipeline and sends every message
in one script per Redis host, with channels_redis's expiry and capacity rules.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from typing import Any

from channels_redis.core import RedisChannelLayer as BaseRedisChannelLayer

RECANCEL_EVERY = 0.05  # seconds between cancellations of a pop that ignored one
RECEIVE_BATCH = 200  # messages taken off a process's channel per round trip

# KEYS: channel, its backup. ARGV: how many to take[, a member BZPOPMIN woke up with, its score].
# A backup left by a receive cancelled mid-way goes back first (as channels_redis does), then
# the oldest messages move into the backup, where they stay until their receive has buffered them.
TAKE_SCRIPT = """
local backed_up = redis.call('ZRANGE', KEYS[2], 0, -1, 'WITHSCORES')
for i = #backed_up, 1, -2 do
    redis.call('ZADD', KEYS[1], backed_up[i], backed_up[i - 1])
end
redis.call('DEL', KEYS[2])
if ARGV[2] then
    redis.call('ZADD', KEYS[1], ARGV[3], ARGV[2])
end
local taken = redis.call('ZPOPMIN', KEYS[1], ARGV[1])
for i = 1, #taken, 2 do
    redis.call('ZADD', KEYS[2], taken[i + 1], taken[i])
end
return taken
"""

# KEYS: one channel key per message. ARGV: now, expiry, then a (score, capacity, body) per key.
SEND_MANY_SCRIPT = """
local now, expiry = tonumber(ARGV[1]), tonumber(ARGV[2])
local over_capacity, cleaned = 0, {}
for i = 1, #KEYS do
    local key, at = KEYS[i], 3 * i
    if not cleaned[key] then
        redis.call('ZREMRANGEBYSCORE', key, 0, now - expiry)
        cleaned[key] = true
    end
    if redis.call('ZCOUNT', key, '-inf', '+inf') < tonumber(ARGV[at + 1]) then
        redis.call('ZADD', key, ARGV[at], ARGV[at + 2])
        redis.call('EXPIRE', key, expiry)
    else
        over_capacity = over_capacity + 1
    end
end
return over_capacity
"""
ORDER_STEP = 1e-6  # seconds between the scores of one batch's messages: a key keeps their order

logger = logging.getLogger(__name__)


async def cancel_until_done(task: asyncio.Future[Any]) -> None:
    """Cancel `task` until it has ended, however many cancellations it swallows.

    A cancellation of our own meanwhile is passed on once the task has ended."""
    cancelled = False
    while not task.done():
        task.cancel()
        try:
            await asyncio.wait({task}, timeout=RECANCEL_EVERY)
        except asyncio.CancelledError:
            cancelled = True
    if not task.cancelled():
        task.exception()  # retrieved: a pop that failed as it was cancelled is not "never retrieved"
    if cancelled:
        raise asyncio.CancelledError


class RedisChannelLayer(BaseRedisChannelLayer):
    async def receive(self, channel: str) -> dict[str, Any]:
        pop = asyncio.ensure_future(super().receive(channel))
        try:
            # shield: our own cancellation always reaches us, even if the pop swallows its copy.
            return await asyncio.shield(pop)
        except asyncio.CancelledError:
            await cancel_until_done(pop)
            raise

    async def receive_single(self, channel: str) -> tuple[Any, dict[str, Any]]:
        """A message of a process channel; what came with it waits in the receive buffers."""
        if not channel.endswith("!"):  # a plain channel: channels_redis's own one-message pop
            single: tuple[Any, dict[str, Any]] = await super().receive_single(channel)
            return single
        index, key = self.consistent_hash(channel), self.prefix + channel
        await self.receive_clean_locks.acquire(key)
        try:
            members = await self._take(index, key)
            # The backup is cleared after the messages are buffered; the next take waits for it.
            cleaner = asyncio.ensure_future(self.connection(index).delete(self._backup_channel_name(key)))
            self.receive_cleaners.append(cleaner)
            cleaner.add_done_callback(lambda done: self._cleaned(done, key))
        except BaseException:
            self.receive_clean_locks.release(key)
            raise
        # receive() buffers the message returned, after these: returning the newest keeps each
        # channel's order.
        *older, newest = [self._unpack(channel, member) for member in members]
        for target, message in older:
            for name in target if isinstance(target, list) else [target]:
                self.receive_buffer[name].put_nowait(message)
        return newest

    async def _take(self, index: int, key: str) -> list[bytes]:
        """Up to RECEIVE_BATCH messages, moved into the backup; blocks until there is one."""
        connection, backup = self.connection(index), self._backup_channel_name(key)
        taken = await connection.eval(TAKE_SCRIPT, 2, key, backup, RECEIVE_BATCH)
        while not taken:
            # Nothing waiting: block for the next one, then take it with whatever came along.
            # (Cancelled between the two, that one message is lost, as in channels_redis.)
            woken = await connection.bzpopmin(key, timeout=self.brpop_timeout)
            if woken is not None:
                _, member, score = woken
                taken = await connection.eval(TAKE_SCRIPT, 2, key, backup, RECEIVE_BATCH, member, float(score))
        return list(taken[::2])

    def _cleaned(self, cleaner: asyncio.Future[Any], key: str) -> None:
        self.receive_cleaners.remove(cleaner)
        self.receive_clean_locks.release(key)

    def _unpack(self, channel: str, member: bytes) -> tuple[Any, dict[str, Any]]:
        message = self.deserialize(member)
        return message.pop("__asgi_channel__", channel), message

    async def group_send_many(self, sends: list[tuple[str, dict[str, Any]]]) -> None:
        """group_send of each (group, message), in order: one pipeline and one script per host."""
        members = await self._group_members({group for group, _ in sends})
        now = time.time()
        batches: dict[int, tuple[list[str], list[Any]]] = collections.defaultdict(lambda: ([], []))
        for n, (group, message) in enumerate(sends):
            by_index, bodies, capacities = self._map_channel_keys_to_connection(members[group], message)
            for index, keys in by_index.items():
                batch_keys, args = batches[index]
                for key in keys:
                    batch_keys.append(key)
                    args += [now + n * ORDER_STEP, capacities[key], bodies[key]]
        for index, (keys, args) in batches.items():
            dropped = await self.connection(index).eval(SEND_MANY_SCRIPT, len(keys), *keys, now, self.expiry, *args)
            if dropped:
                logger.warning("%s of %s messages dropped: their channels are over capacity", dropped, len(keys))

    async def _group_members(self, groups: set[str]) -> dict[str, list[str]]:
        """Every group's live channels, expired members dropped first (as group_send does)."""
        by_index: dict[int, list[str]] = collections.defaultdict(list)
        for group in groups:
            by_index[self.consistent_hash(group)].append(group)
        members: dict[str, list[str]] = {}
        for index, names in by_index.items():
            pipe = self.connection(index).pipeline(transaction=False)
            for group in names:
                key = self._group_key(group)
                pipe.zremrangebyscore(key, min=0, max=int(time.time()) - self.group_expiry)
                pipe.zrange(key, 0, -1)
            replies = await pipe.execute()
            for group, channels in zip(names, replies[1::2], strict=True):
                members[group] = [channel.decode() for channel in channels]
        return members
