"""The Redis cache: one connection pool per process, and it recovers from a Redis restart.

Pins what catfeeder/cache.py relies on: Django builds a cache pool with
`pool_class.from_url(location, **OPTIONS)`.
"""

from __future__ import annotations

from contextvars import copy_context
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache

from catfeeder.cache import SharedConnectionPool
from catfeeder.redis_options import cache_options
from tests.support.tcp_redis import TcpRedis


def pools_of(location: str) -> list[Any]:
    return [pool for (url, *_), pool in SharedConnectionPool.pools.items() if url == location]


@pytest.mark.usefixtures("redis_url")
def test_backends_in_different_contexts_share_one_pool() -> None:
    # Django keeps a cache backend per context, so every request builds a new one.
    cache.set("shared-pool", 1)
    other = copy_context().run(lambda: caches.create_connection("default"))
    assert other is not cache
    assert other.get("shared-pool") == 1
    assert len(pools_of(settings.CACHES["default"]["LOCATION"])) == 1


def test_django_builds_its_pool_through_the_pool_class(tcp_redis: TcpRedis) -> None:
    backends = [copy_context().run(lambda: RedisCache(tcp_redis.url, {"OPTIONS": cache_options()})) for _ in range(3)]
    for n, backend in enumerate(backends):
        backend.set(f"k{n}", n)
    assert [backend.get(f"k{n}") for n, backend in enumerate(backends)] == [0, 1, 2]
    assert len(pools_of(tcp_redis.url)) == 1


def test_the_next_call_after_a_redis_restart_works(tcp_redis: TcpRedis) -> None:
    backend = RedisCache(tcp_redis.url, {"OPTIONS": cache_options()})
    backend.set("before", 1)
    tcp_redis.restart()
    backend.set("after", 2)  # on a pooled connection the server closed: reconnects
    assert backend.get("after") == 2
