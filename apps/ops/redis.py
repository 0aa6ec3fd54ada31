"""Small Redis clients for the ops registries (web instances, workers, beat).

They use REDIS_URL (the same server as the cache and the channel layer) with
short socket timeouts: nothing here may hang a status page or a check.
"""

from __future__ import annotations

import redis
import redis.asyncio
from django.conf import settings
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import NoBackoff
from redis.retry import Retry

TIMEOUT = 2.0  # seconds for connecting and for each command

WEB_KEY = "ops:web"  # hash: instance id -> JSON (see apps.ops.instance)
WORKERS_KEY = "ops:workers"  # hash: worker hostname -> JSON (see apps.ops.celery_signals)
BEAT_KEY = "ops:beat"  # string: JSON about the running beat process


def redis_client() -> redis.Redis:
    return redis.Redis.from_url(
        settings.REDIS_URL,
        socket_timeout=TIMEOUT,
        socket_connect_timeout=TIMEOUT,
        decode_responses=True,
        retry=Retry(NoBackoff(), 1),  # redis-py's default, ten tries with backoff, made a hung Redis cost 20 s
    )


def async_redis_client() -> redis.asyncio.Redis:
    return redis.asyncio.Redis.from_url(
        settings.REDIS_URL,
        socket_timeout=TIMEOUT,
        socket_connect_timeout=TIMEOUT,
        decode_responses=True,
        retry=AsyncRetry(NoBackoff(), 1),
    )
