"""Authentication backends that keep the users they read, exact across processes.

Every request on a session or an app token reads its user again (Django's
`get_user` calls the backend's `get_user`): a query of its own, about a
twentieth of a REST read's CPU here, and a round trip to PostgreSQL in
production. These backends are Django's and allauth's with `get_user` served
from a per-process copy of the row.

A copy is used only while the users' generation it was read under is current.
The generation is a value in the cache (Redis) that changes after the commit of
any save or delete of a user (`users_changed`), so a deactivation, a password
change, a deletion or a new time zone reaches every process at its next
request. Reading it is one GET, much cheaper than the query it replaces. Should
a change not reach Redis (it was down at that moment), a copy still ends after
`USER_COPY_SECONDS`; a Redis that restarts empty starts a new generation and
every copy ends at once. With Redis unreachable the users are read from the
database, as without these backends.

Sessions made before these backends existed name Django's or allauth's class;
apps.accounts.sessions reads those names as these.
"""

from __future__ import annotations

import copy
import threading
import time
import uuid
from collections import OrderedDict
from typing import Any

from allauth.account.auth_backends import AuthenticationBackend as AllauthBackend
from django.contrib.auth.backends import ModelBackend as DjangoModelBackend
from django.core.cache import cache
from django.db import transaction
from redis.exceptions import RedisError

from apps.accounts.models import User

GENERATION_KEY = "accounts:users-generation"
USER_COPY_SECONDS = 60.0  # the longest a copy lives, should a change fail to reach Redis
USER_COPIES_MAX = 10_000  # users kept per process; the least recently used go first
REDIS_RETRY_SECONDS = 1.0  # after a failed read, the database alone for this long (no wait per request)
NOTE_SECONDS = 1.0  # a generation read with a session serves the user lookup that follows it, if that soon


class UserCopies:
    """This process's copies of user rows, valid for one generation."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.generation: str | None = None
        self.rows: OrderedDict[Any, tuple[User, float]] = OrderedDict()
        self.redis_failed_at = 0.0
        self.noted = threading.local()

    def generation_note(self, generation: Any) -> None:
        """The generation, read in this thread with the session just loaded (one round trip for both).

        The user lookup that follows in the same request uses it instead of reading it again; once.
        """
        self.noted.value = (str(generation), time.monotonic())

    def get(self, pk: Any) -> User | None:
        noted, self.noted.value = getattr(self.noted, "value", None), None
        fresh = noted is not None and time.monotonic() - noted[1] < NOTE_SECONDS
        generation = noted[0] if noted is not None and fresh else self.generation_read()
        if generation is None:
            return user_read(pk)
        now = time.monotonic()
        with self.lock:
            if generation != self.generation:
                self.rows.clear()
                self.generation = generation
            found = self.rows.get(pk)
            if found is not None and now - found[1] < USER_COPY_SECONDS:
                self.rows.move_to_end(pk)
                return copy.copy(found[0])  # a request may change its user; the copy here stays as read
        user = user_read(pk)
        if user is not None:
            with self.lock:
                if self.generation == generation:  # not if a newer generation came in meanwhile
                    self.rows[pk] = (copy.copy(user), now)
                    if len(self.rows) > USER_COPIES_MAX:
                        self.rows.popitem(last=False)
        return user

    def generation_read(self) -> str | None:
        """The current generation, or None when Redis cannot say (then no copy is used)."""
        if time.monotonic() - self.redis_failed_at < REDIS_RETRY_SECONDS:
            return None
        try:
            generation = cache.get(GENERATION_KEY)
            if generation is None:  # a new or emptied Redis
                cache.add(GENERATION_KEY, uuid.uuid4().hex, timeout=None)
                generation = cache.get(GENERATION_KEY)
        except RedisError:
            self.redis_failed()
            return None
        return None if generation is None else str(generation)

    def redis_failed(self) -> None:
        """Redis failed this process just now: no copies, and no reads of it for a moment."""
        self.redis_failed_at = time.monotonic()
        self.forget()

    def forget(self) -> None:
        with self.lock:
            self.rows.clear()
            self.generation = None


copies = UserCopies()


def user_read(pk: Any) -> User | None:
    return User.objects.filter(pk=pk).first()


def users_changed(**kwargs: Any) -> None:
    """post_save and post_delete of the user model: a new generation once the change is committed."""
    copies.forget()  # this process at once, even if Redis is down
    transaction.on_commit(generation_new, robust=True)


def generation_new() -> None:
    copies.forget()  # a request between the save and the commit may have kept the old row
    cache.set(GENERATION_KEY, uuid.uuid4().hex, timeout=None)


class ModelBackend(DjangoModelBackend):
    """Django's ModelBackend (the admin's log-in), `get_user` from this process's copies."""

    def get_user(self, user_id: Any) -> User | None:
        user = copies.get(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None


class AuthenticationBackend(ModelBackend, AllauthBackend):
    """allauth's backend (log-in by e-mail, pages and apps)."""
