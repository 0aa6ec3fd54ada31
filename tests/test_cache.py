"""The Redis cache (catfeeder/cache.py): one client per process, Django's meaning for every call,
and it recovers from a Redis restart."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from contextvars import copy_context
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends import redis as django_redis

from catfeeder.cache import RedisCache, SharedConnectionPool
from catfeeder.redis_options import cache_options
from tests.support.tcp_redis import TcpRedis


def pools_of(location: str) -> list[Any]:
    return [pool for (url, *_), pool in SharedConnectionPool.pools.items() if url == location]


@pytest.mark.usefixtures("redis_url")
def test_backends_in_different_contexts_share_one_client_and_pool() -> None:
    # Django keeps a cache backend per context, so every request builds a new one.
    cache.set("shared-pool", 1)
    other = copy_context().run(lambda: caches.create_connection("default"))
    assert other is not caches["default"]
    assert isinstance(other, RedisCache)
    assert other.get("shared-pool") == 1
    current = caches["default"]
    assert isinstance(current, RedisCache)
    assert other.client is current.client
    assert len(pools_of(str(settings.CACHES["default"]["LOCATION"]))) == 1


def calls(backend: Any) -> list[Any]:
    """The cache API's calls, each with what it answered (or the exception it raised)."""
    out: list[Any] = []

    def call(name: str, *args: Any, **kwargs: Any) -> None:
        try:
            out.append((name, getattr(backend, name)(*args, **kwargs)))
        except Exception as exc:  # noqa: BLE001 - the exception is the answer compared
            out.append((name, type(exc).__name__))

    call("set", "a", {"x": [1, 2]})
    call("get", "a")
    call("get", "missing", "dflt")
    call("add", "a", 2)
    call("add", "b", 7, 0)
    call("add", "c", 7)
    call("incr", "c", 3)
    call("incr", "missing")
    call("set", "flag", True)
    call("get", "flag")
    call("set_many", {"m1": 1, "m2": "two"}, 60)
    call("get_many", ["m1", "m2", "missing"])
    call("has_key", "m1")
    call("touch", "m1", None)
    call("touch", "missing", 10)
    call("set", "gone", 1, 0)
    call("has_key", "gone")
    call("delete", "a")
    call("delete", "a")
    call("delete_many", ["m1", "m2"])
    call("get_many", ["m1", "m2"])
    call("get_or_set", "g", 5)
    call("get", "g")
    return out


def test_every_call_means_what_it_means_in_djangos_redis_cache(tcp_redis: TcpRedis) -> None:
    ours = RedisCache(tcp_redis.url, {"OPTIONS": cache_options(), "KEY_PREFIX": "ours"})
    django = django_redis.RedisCache(tcp_redis.url, {"OPTIONS": cache_options(), "KEY_PREFIX": "django"})
    assert calls(ours) == calls(django)
    django.set("written-by-django", {"v": 1})  # the values are stored alike: either reads the other's
    assert RedisCache(tcp_redis.url, {"KEY_PREFIX": "django"}).get("written-by-django") == {"v": 1}


def test_each_thread_keeps_a_client_and_a_connection_of_its_own(tcp_redis: TcpRedis) -> None:
    backend = RedisCache(tcp_redis.url, {"OPTIONS": cache_options()})
    backend.set("k", 1)
    mine = backend.client
    assert backend.client is mine  # the same client, call after call, on the same connection
    connection = mine.connection
    backend.get("k")
    assert mine.connection is connection
    with ThreadPoolExecutor(1) as pool:
        theirs = pool.submit(lambda: (backend.get("k"), backend.client)).result()
    assert theirs[0] == 1
    assert theirs[1] is not mine
    assert theirs[1].connection is not connection


def test_the_next_call_after_a_redis_restart_works(tcp_redis: TcpRedis) -> None:
    backend = RedisCache(tcp_redis.url, {"OPTIONS": cache_options()})
    backend.set("before", 1)
    tcp_redis.restart()
    backend.set("after", 2)  # on a pooled connection the server closed: reconnects
    assert backend.get("after") == 2


def test_a_forked_child_does_not_use_its_parents_connection(tcp_redis: TcpRedis) -> None:
    backend = RedisCache(tcp_redis.url, {"OPTIONS": cache_options()})
    backend.set("k", 1)
    parent = backend.client
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: a client of its own, on a connection of its own, and the value
        try:
            ok = backend.client is not parent and backend.get("k") == 1
            os.write(write, b"1" if ok else b"0")
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    assert os.read(read, 1) == b"1"
    assert backend.get("k") == 1  # the parent's connection still answers in step
