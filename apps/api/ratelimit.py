"""Rate limits: fixed windows counted atomically in Redis.

One Lua script increments a window's counter and starts its expiry in a
single step, so concurrent requests (threads, processes, hosts) never race;
the sync and asyncio clients run the same script.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cache

import redis
import redis.asyncio as aredis
from django.conf import settings
from django.http import HttpRequest
from ninja.throttling import BaseThrottle

HIT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return {count, redis.call('TTL', KEYS[1])}
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


@cache
def _client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=1)


@cache
def _async_client() -> aredis.Redis:
    return aredis.Redis.from_url(settings.REDIS_URL, socket_timeout=1)


def hit(key: str, rate: Rate) -> tuple[bool, int]:
    """Count one hit; (allowed, seconds until the window resets)."""
    count, ttl = _client().eval(HIT, 1, f"ratelimit:{key}", rate.window)
    return int(count) <= rate.limit, max(int(ttl), 1)


async def ahit(key: str, rate: Rate) -> tuple[bool, int]:
    count, ttl = await _async_client().eval(HIT, 1, f"ratelimit:{key}", rate.window)
    return int(count) <= rate.limit, max(int(ttl), 1)


class RedisThrottle(BaseThrottle):
    """ninja throttle on `hit`; `scope` picks whom it counts: the IP or the user.

    The rate is read from the named setting on every request (parsing is
    cheap), so an operator's change and a test's override apply at once.
    """

    def __init__(self, scope: str, setting: str) -> None:
        self.scope = scope
        self.setting = setting
        self.local = threading.local()  # ninja asks wait() right after allow_request()

    def ident(self, request: HttpRequest) -> str | None:
        if self.scope == "ip":
            return str(request.META.get("REMOTE_ADDR", "unknown"))
        user = getattr(request, "user", None)
        return str(user.pk) if user is not None and user.is_authenticated else None

    def allow_request(self, request: HttpRequest) -> bool:
        ident = self.ident(request)
        if ident is None:
            return True
        allowed, self.local.wait = hit(f"api:{self.scope}:{ident}", Rate.parse(getattr(settings, self.setting)))
        return allowed

    def wait(self) -> float | None:
        return float(getattr(self.local, "wait", 1))


def api_throttles() -> list[BaseThrottle]:
    return [RedisThrottle("ip", "API_RATE_LIMIT_IP"), RedisThrottle("user", "API_RATE_LIMIT_USER")]
