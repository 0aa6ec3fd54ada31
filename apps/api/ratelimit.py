"""Rate limits: fixed windows counted atomically in Redis.

One Lua script increments a window's counter and starts its expiry in a
single step, so concurrent requests (threads, processes, hosts) never race.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cache
from typing import Any

import redis
from django.conf import settings
from django.http import HttpRequest
from ninja.throttling import BaseThrottle
from redis.backoff import NoBackoff
from redis.retry import Retry

from apps.infra.thread_clients import ThreadClients

HIT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return {count, redis.call('TTL', KEYS[1])}
"""
# The same for several counters in one round trip: KEYS[i] with window ARGV[i].
HIT_ALL = """
local out = {}
for i, key in ipairs(KEYS) do
  local count = redis.call('INCR', key)
  if count == 1 then redis.call('EXPIRE', key, ARGV[i]) end
  out[#out + 1] = count
  out[#out + 1] = redis.call('TTL', key)
end
return out
"""
PERIODS = {"s": 1, "second": 1, "m": 60, "minute": 60, "h": 3600, "hour": 3600}


@dataclass(frozen=True)
class Rate:
    limit: int
    window: int  # seconds

    @classmethod
    def parse(cls, text: str) -> Rate:
        """'600/minute', '10/s' …"""
        count, _, period = text.partition("/")
        return cls(int(count), PERIODS[period.strip().lower()])


# A Redis that is down or hung costs a request at most two tries of a second each (redis-py
# retries ten times with backoff by default); one retry at once covers a connection that
# a restarted Redis closed.
TIMEOUT = 1  # seconds, for connecting and for each command


@cache
def _clients() -> ThreadClients:
    pool = redis.ConnectionPool.from_url(
        settings.REDIS_URL, socket_timeout=TIMEOUT, socket_connect_timeout=TIMEOUT, retry=Retry(NoBackoff(), 1)
    )
    return ThreadClients(pool)


def _client() -> redis.Redis:
    return _clients().get()


def hit(key: str, rate: Rate) -> tuple[bool, int]:
    """Count one hit; (allowed, seconds until the window resets)."""
    count, ttl = _client().eval(HIT, 1, f"ratelimit:{key}", rate.window)
    return int(count) <= rate.limit, max(int(ttl), 1)


def hit_all(hits: list[tuple[str, Rate]]) -> tuple[bool, int]:
    """Count one hit on each key at once; allowed if every key is within its rate, else the longest wait."""
    if not hits:
        return True, 1
    keys, windows = [f"ratelimit:{key}" for key, _ in hits], [rate.window for _, rate in hits]
    replies = _hit_all_script()(keys=keys, args=windows, client=_client())
    over = [
        int(ttl)
        for (_, rate), count, ttl in zip(hits, replies[::2], replies[1::2], strict=True)
        if int(count) > rate.limit
    ]
    return not over, max([*over, 1])


@cache
def _hit_all_script() -> Any:
    # EVALSHA, loading the script again if Redis lost it; called with the thread's client.
    return _client().register_script(HIT_ALL)


class RedisThrottle(BaseThrottle):
    """ninja throttle on `hit_all`: per IP and per user, counted in one round trip.

    `scopes` maps whom a counter counts ("ip" or "user") to the setting that
    holds its rate. The rates are read on every request (parsing is cheap), so
    an operator's change and a test's override apply at once.
    """

    def __init__(self, scopes: dict[str, str]) -> None:
        self.scopes = scopes
        self.local = threading.local()  # ninja asks wait() right after allow_request()

    @staticmethod
    def ident(request: HttpRequest, scope: str) -> str | None:
        if scope == "ip":
            return str(request.META.get("REMOTE_ADDR", "unknown"))
        user = getattr(request, "user", None)
        return str(user.pk) if user is not None and user.is_authenticated else None

    def allow_request(self, request: HttpRequest) -> bool:
        hits = [
            (f"api:{scope}:{ident}", Rate.parse(getattr(settings, setting)))
            for scope, setting in self.scopes.items()
            if (ident := self.ident(request, scope)) is not None
        ]
        allowed, self.local.wait = hit_all(hits)
        return allowed

    def wait(self) -> float | None:
        return float(getattr(self.local, "wait", 1))


def api_throttles() -> list[BaseThrottle]:
    return [RedisThrottle({"ip": "API_RATE_LIMIT_IP", "user": "API_RATE_LIMIT_USER"})]
