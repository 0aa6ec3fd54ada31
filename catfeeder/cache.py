"""One Redis connection pool per process for Django's cache (its OPTIONS "pool_class").

Django keeps a cache backend per request context (asgiref Local), and each
backend builds its pools anew: with the stock pool class every request opened
a new Redis connection, a third of an API request's time in the read
benchmark. Django builds a pool with `pool_class.from_url(location, **options)`
(tests/test_cache.py pins it); this class hands back one shared pool per
location and options instead, as django-redis does. redis-py's pools are
thread-safe and start afresh in a forked child.
"""

from __future__ import annotations

import threading
from typing import Any, ClassVar

import redis


class SharedConnectionPool(redis.ConnectionPool):
    pools: ClassVar[dict[tuple[Any, ...], redis.ConnectionPool]] = {}
    lock: ClassVar[threading.Lock] = threading.Lock()

    @classmethod
    def from_url(cls, url: str, **options: Any) -> Any:
        # redis-py's option values compare by value (a Retry by its settings); lists become tuples.
        key = (url, *sorted((name, tuple(v) if isinstance(v, list) else v) for name, v in options.items()))
        pool = cls.pools.get(key)
        if pool is None:
            with cls.lock:
                pool = cls.pools.get(key)
                if pool is None:
                    pool = cls.pools[key] = redis.ConnectionPool.from_url(url, **options)
        return pool
