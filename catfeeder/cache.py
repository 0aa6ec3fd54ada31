"""Django's Redis cache, with one client and connection pool per process.

Django keeps a cache backend per request context (asgiref Local), so the
stock backend built a new connection pool for every request and each request
opened a new Redis connection: a third of an API request's time in the
read benchmark. Here pools live at module level, keyed by server and options,
and every backend instance shares them (as django-redis does). The stock
backend also builds a new redis.Redis for every call, which with redis-py 8
costs more than the round trip itself; clients are thread-safe and share the
pool, so one per pool is enough.
"""

from __future__ import annotations

import threading
from typing import Any

from django.core.cache.backends.redis import RedisCache, RedisCacheClient

_clients: dict[tuple[Any, ...], Any] = {}
_lock = threading.Lock()


class PooledClientRedisCacheClient(RedisCacheClient):
    def __init__(self, servers: list[str], **options: Any) -> None:
        super().__init__(servers, **options)
        self._key = (tuple(servers), tuple(sorted((k, repr(v)) for k, v in options.items())))

    # _get_connection_pool_index, _get_connection_pool and _client are the
    # private helpers of Django's RedisCacheClient (absent from django-stubs).
    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        index = self._get_connection_pool_index(write)  # type: ignore[attr-defined]
        client = _clients.get((*self._key, index))
        if client is None:
            with _lock:
                client = _clients.get((*self._key, index))
                if client is None:
                    pool = self._get_connection_pool(write)  # type: ignore[attr-defined]
                    client = _clients[(*self._key, index)] = self._client(connection_pool=pool)  # type: ignore[attr-defined]
        return client


class PooledRedisCache(RedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = PooledClientRedisCacheClient
