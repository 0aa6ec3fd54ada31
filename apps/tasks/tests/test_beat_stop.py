"""SIGTERM stops beat even when celery's SystemExit is swallowed by a finalizer.

celery's beat installs a SIGTERM handler that closes the scheduler and then
raises SystemExit in whatever the main thread runs. Raised inside a __del__,
Python only prints "Exception ignored": beat ticked on until its supervisor
killed it. This pins both halves: celery closes the scheduler first, and our
scheduler then ends beat's loop by itself.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest
from celery import beat
from celery.apps.beat import Beat

from apps.ops.redis import redis_client
from apps.tasks.beat import LOCK_KEY, LockedDatabaseScheduler
from catfeeder.celery import app

pytestmark = [
    pytest.mark.django_db(transaction=True),  # django-celery-beat closes the connection it reads with
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]


class SignalledWhileCollected:
    """An object whose finalizer receives the SIGTERM, as a collected connection pool's did."""

    def __del__(self) -> None:
        signal.raise_signal(signal.SIGTERM)
        for _ in range(3):  # the handler runs between these bytecodes, still inside __del__
            pass


@pytest.fixture
def sigterm_restored() -> Iterator[None]:
    previous = signal.getsignal(signal.SIGTERM)
    yield
    signal.signal(signal.SIGTERM, previous)


@pytest.mark.timeout(60)  # the failure this guards against is a loop that never ends
def test_a_sigterm_lost_in_a_finalizer_still_stops_beat_and_frees_the_lock(sigterm_restored: None) -> None:
    redis_client().delete(LOCK_KEY)
    service = beat.Service(app=app, scheduler_cls=LockedDatabaseScheduler, max_interval=1)
    scheduler = service.scheduler
    assert isinstance(scheduler, LockedDatabaseScheduler)
    assert scheduler.lock.hold()
    Beat(app=app).install_sync_handler(service)  # as `celery beat` does before its loop

    doomed = SignalledWhileCollected()
    del doomed  # the SystemExit dies in __del__

    assert scheduler.closed  # celery closed the scheduler before raising
    service.start()  # returns: the closed scheduler ends the loop
    assert redis_client().get(LOCK_KEY) is None
