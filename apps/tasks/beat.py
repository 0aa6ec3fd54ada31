"""Beat runs once: django-celery-beat's DatabaseScheduler behind a Redis lock.

django-celery-beat has no lock of its own, so two beats (a deploy that
overlaps, an operator's mistake) would send every job twice. Each tick of
this scheduler first takes or renews the lock (SET NX PX, renewed by its
holder on every tick, at least every few seconds); a beat that does not hold
it sends nothing and asks again shortly, so it takes over within
BEAT_LOCK_TTL seconds of the holder's death. The jobs stay safe without it
(the dispatcher's rows decide), so the lock keeps duplicates off the broker.

It also makes SIGTERM stop beat for sure: celery's handler closes the
scheduler and then raises SystemExit wherever the main thread happens to be.
When that is a finalizer (a garbage-collected connection pool's __del__),
Python prints "Exception ignored" and beat would tick on, holding the lock,
until its supervisor kills it. A closed scheduler ends the loop itself.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import uuid
from typing import Any

import redis
from django.conf import settings
from django_celery_beat.schedulers import DatabaseScheduler

from apps.ops.redis import redis_client
from apps.ops.services import beat_process_record

logger = logging.getLogger(__name__)

LOCK_KEY = "tasks:beat:lock"
# Take the lock if free, renew it if ours: one round trip, no gap between the check and the set.
TAKE_OR_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end
if redis.call('set', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
return 0
"""
RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"


class BeatLock:
    def __init__(self, *, ttl: int) -> None:
        self.ttl = ttl
        self.token = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.held = False
        self.client = redis_client()  # one pool for the process's life, not one per tick

    def hold(self) -> bool:
        """Take or renew the lock; False when another beat holds it or Redis cannot be reached."""
        try:
            held = bool(self.client.eval(TAKE_OR_RENEW, 1, LOCK_KEY, self.token, self.ttl * 1000))
        except redis.RedisError as exc:
            logger.warning("beat lock: Redis unreachable (%s); sending nothing", exc)
            held = False
        if held != self.held:
            logger.info("beat lock %s (%s)", "taken" if held else "lost", self.token)
            if held:
                _announce()
        self.held = held
        return held

    def release(self) -> None:
        if self.held:
            with contextlib.suppress(redis.RedisError):  # it expires on its own
                self.client.eval(RELEASE, 1, LOCK_KEY, self.token)
            self.held = False


def _announce() -> None:
    try:
        beat_process_record(host=socket.gethostname(), pid=os.getpid())  # the status page's "beat process"
    except Exception as exc:  # noqa: BLE001 - the registry is a convenience
        logger.warning("cannot register beat: %s", exc)


class LockedDatabaseScheduler(DatabaseScheduler):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.lock = BeatLock(ttl=settings.BEAT_LOCK_TTL)
        self.closed = False
        super().__init__(*args, **kwargs)

    def tick(self, *args: Any, **kwargs: Any) -> float:
        if self.closed:  # stopping: beat's loop ends on SystemExit (see the module's docstring)
            raise SystemExit
        if not self.lock.hold():
            return float(min(self.max_interval, settings.BEAT_LOCK_TTL / 3))
        return float(super().tick(*args, **kwargs))

    def close(self) -> None:
        self.closed = True
        super().close()
        self.lock.release()
