"""The Redis cache shares one client and connection pool per process."""

from __future__ import annotations

from contextvars import copy_context

from django.core.cache import cache, caches


def test_backends_in_different_contexts_share_one_client_and_its_connection() -> None:
    # Django keeps a cache backend per context, so every request builds a new one.
    cache.set("shared-pool", 1)
    other = copy_context().run(lambda: caches.create_connection("default"))
    assert other is not cache
    client = cache._cache.get_client(write=True)
    assert other._cache.get_client(write=True) is client
    opened = client.connection_pool._created_connections
    assert other.get("shared-pool") == 1
    assert client.connection_pool._created_connections == opened  # the new backend's read reused it
