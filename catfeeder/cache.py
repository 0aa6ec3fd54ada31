"""The project's Redis cache: Django's cache API on one redis-py client per process.

Django keeps a cache backend per request context (asgiref Local), so every
request builds a backend anew, and Django's own RedisCache also builds a
`redis.Redis` for every call (its `get_client`): in the read benchmark that
was about a twentieth of an API request's CPU. `RedisCache` here is a cache
backend as Django documents them (a `BaseCache` subclass) whose construction
only looks up the process's clients: one connection pool per location and
options (`SharedConnectionPool`), and on it a `redis.Redis` per thread that
keeps its connection (apps.infra.thread_clients). A pool starts afresh in a
forked child.

Values are stored as Django's RedisCache stores them (integers as such, so
that `incr` is atomic; anything else pickled), and each method keeps its
meaning (tests/test_cache.py runs the same calls against both).
"""

from __future__ import annotations

import pickle
import threading
from collections.abc import Callable, Iterable
from typing import Any, ClassVar, TypeVar

import redis
from django.core.cache.backends.base import DEFAULT_TIMEOUT, BaseCache
from django.utils.module_loading import import_string

from apps.infra.thread_clients import ThreadClients

T = TypeVar("T")
_lock = threading.RLock()  # a client is made while its pool is being made


def _shared(registry: dict[tuple[Any, ...], T], key: tuple[Any, ...], make: Callable[[], T]) -> T:
    found = registry.get(key)
    if found is None:
        with _lock:
            found = registry.get(key)
            if found is None:
                found = registry[key] = make()
    return found


def _options_key(url: str, options: dict[str, Any]) -> tuple[Any, ...]:
    # redis-py's option values compare by value (a Retry by its settings); lists become tuples.
    return (url, *sorted((name, tuple(v) if isinstance(v, list) else v) for name, v in options.items()))


class SharedConnectionPool(redis.ConnectionPool):
    """One pool per location and options in this process (a cache's OPTIONS "pool_class")."""

    pools: ClassVar[dict[tuple[Any, ...], redis.ConnectionPool]] = {}

    @classmethod
    def from_url(cls, url: str, **options: Any) -> Any:
        return _shared(cls.pools, _options_key(url, options), lambda: redis.ConnectionPool.from_url(url, **options))


def dumps(value: Any) -> Any:
    # Integers as such (not bools): INCR works on them, atomically.
    return value if type(value) is int else pickle.dumps(value, pickle.HIGHEST_PROTOCOL)


def loads(data: Any) -> Any:
    try:
        return int(data)
    except ValueError:
        return pickle.loads(data)  # noqa: S301 - our own Redis, written only by this backend


class RedisCache(BaseCache):
    """CACHES backend: LOCATION one redis:// or unix:// URL; OPTIONS are the pool's (and "pool_class")."""

    clients: ClassVar[dict[tuple[Any, ...], ThreadClients]] = {}
    # Django builds a backend anew in each request's context, from a shallow copy of the
    # settings' entry: its OPTIONS is the settings' own dict every time. Looked up by that dict
    # first, a backend costs no key computation (which was 3 % of a REST read's CPU). The dict is
    # kept beside its client, so its id cannot be reused by another while the entry exists.
    by_options: ClassVar[dict[tuple[str, int], tuple[dict[str, Any], ThreadClients]]] = {}

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(params)
        given = params.get("OPTIONS", {})
        known = self.by_options.get((server, id(given)))
        if known is not None and known[0] is given:
            self.clients_here = known[1]
            return
        options = dict(given)
        pool_class = options.pop("pool_class", SharedConnectionPool)
        if isinstance(pool_class, str):
            pool_class = import_string(pool_class)
        key = (pool_class, *_options_key(server, options))
        self.clients_here = _shared(self.clients, key, lambda: ThreadClients(pool_class.from_url(server, **options)))
        self.by_options[server, id(given)] = (given, self.clients_here)

    @property
    def client(self) -> redis.Redis:
        """This thread's client."""
        return self.clients_here.get()

    def get_backend_timeout(self, timeout: Any = DEFAULT_TIMEOUT) -> int | None:
        if timeout == DEFAULT_TIMEOUT:
            timeout = self.default_timeout
        # None: the key never expires; 0 or less: it is deleted (as Django's RedisCache).
        return None if timeout is None else max(0, int(timeout))

    def add(self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        key = self.make_and_validate_key(key, version=version)
        seconds = self.get_backend_timeout(timeout)
        if seconds == 0:  # added and at once expired: say whether it would have been added
            added = bool(self.client.set(key, dumps(value), nx=True))
            if added:
                self.client.delete(key)
            return added
        return bool(self.client.set(key, dumps(value), ex=seconds, nx=True))

    def get(self, key: Any, default: Any = None, version: int | None = None) -> Any:
        value = self.client.get(self.make_and_validate_key(key, version=version))
        return default if value is None else loads(value)

    def set(self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> None:
        key = self.make_and_validate_key(key, version=version)
        seconds = self.get_backend_timeout(timeout)
        if seconds == 0:
            self.client.delete(key)
        else:
            self.client.set(key, dumps(value), ex=seconds)

    def touch(self, key: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        key = self.make_and_validate_key(key, version=version)
        seconds = self.get_backend_timeout(timeout)
        return bool(self.client.persist(key) if seconds is None else self.client.expire(key, seconds))

    def delete(self, key: Any, version: int | None = None) -> bool:
        return bool(self.client.delete(self.make_and_validate_key(key, version=version)))

    def get_many(self, keys: Iterable[Any], version: int | None = None) -> dict[Any, Any]:
        names = {self.make_and_validate_key(key, version=version): key for key in keys}
        if not names:
            return {}
        values = self.client.mget(list(names))
        found = zip(names.values(), values, strict=True)
        return {key: loads(value) for key, value in found if value is not None}

    def has_key(self, key: Any, version: int | None = None) -> bool:
        return bool(self.client.exists(self.make_and_validate_key(key, version=version)))

    def incr(self, key: Any, delta: int = 1, version: int | None = None) -> int:
        name = self.make_and_validate_key(key, version=version)
        if not self.client.exists(name):
            raise ValueError(f"Key '{key}' not found.")
        return int(self.client.incr(name, delta))

    def set_many(self, data: dict[Any, Any], timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> list[Any]:
        if not data:
            return []
        values = {self.make_and_validate_key(key, version=version): dumps(value) for key, value in data.items()}
        seconds = self.get_backend_timeout(timeout)
        pipeline = self.client.pipeline()
        pipeline.mset(values)
        if seconds is not None:  # MSET sets no expiry
            for name in values:
                pipeline.expire(name, seconds)
        pipeline.execute()
        return []

    def delete_many(self, keys: Iterable[Any], version: int | None = None) -> None:
        names = [self.make_and_validate_key(key, version=version) for key in keys]
        if names:
            self.client.delete(*names)

    def clear(self) -> None:
        self.client.flushdb()
