"""Django's Redis cache, keeping one client per connection pool.

The stock backend builds a new redis.Redis for every cache call, and with
redis-py 8 building one costs more than the round trip itself (it sets up a
table of reply callbacks each time). Clients are thread-safe and share the
pool, so one per pool is enough.
"""

from __future__ import annotations

from typing import Any

from django.core.cache.backends.redis import RedisCache, RedisCacheClient


class PooledClientRedisCacheClient(RedisCacheClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}

    # _get_connection_pool_index, _get_connection_pool and _client are the
    # private helpers of Django's RedisCacheClient (absent from django-stubs).
    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        index = self._get_connection_pool_index(write)  # type: ignore[attr-defined]
        client = self._clients.get(index)
        if client is None:
            pool = self._get_connection_pool(write)  # type: ignore[attr-defined]
            client = self._clients[index] = self._client(connection_pool=pool)  # type: ignore[attr-defined]
        return client


class PooledRedisCache(RedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = PooledClientRedisCacheClient
