"""redis-py connection options for the cache and the channel layer: fail fast, and recover.

After Redis restarts, pooled connections are closed at the server's end. By
default a connection given a pool retries nothing, so the first command on
one failed (socket handshakes failed in `group_add` for minutes). One retry on
a connection error reconnects instead; a timeout is not retried, so a hung
Redis still answers within `socket_timeout`. A connection idle for
HEALTH_CHECK_INTERVAL is pinged before use, so one silently dropped on the
way (a firewall, a NAT) is replaced too.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlsplit

from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.retry import Retry

CONNECT_TIMEOUT = 2  # seconds
READ_TIMEOUT = 2  # seconds: a hung Redis costs a request no more than this
HEALTH_CHECK_INTERVAL = 30  # seconds


def cache_options() -> dict[str, Any]:
    """OPTIONS for Django's RedisCache (a sync redis-py pool)."""
    return {
        "pool_class": "catfeeder.cache.SharedConnectionPool",
        "socket_connect_timeout": CONNECT_TIMEOUT,
        "socket_timeout": READ_TIMEOUT,
        "retry": Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
        "health_check_interval": HEALTH_CHECK_INTERVAL,
    }


def channel_layer_host(address: str) -> dict[str, Any]:
    """A `hosts` entry of channels_redis (an asyncio redis-py pool)."""
    return {
        "address": address,
        "socket_connect_timeout": CONNECT_TIMEOUT,
        "socket_timeout": READ_TIMEOUT,
        "retry": AsyncRetry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
        "health_check_interval": HEALTH_CHECK_INTERVAL,
    }


def channel_layer_prefix(url: str) -> str:
    """The channel layer's prefix for the Redis database `url` names.

    Redis pub/sub ignores database numbers: a PUBLISH on db 3 reaches a subscriber
    on db 1. Two deployments (or two test workers) on one Redis server, each on a
    database of its own, would push each other's group messages to their sockets
    (a feed command for `device-1` to the other's feeder 1). Database 0 keeps
    channels_redis' default prefix.
    """
    parts = urlsplit(url)
    db = dict(parse_qsl(parts.query)).get("db", "") if parts.scheme == "unix" else parts.path.strip("/")
    return f"asgi-db{db}-" if db.isdigit() and int(db) else "asgi"
