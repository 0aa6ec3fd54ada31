"""One redis-py client per thread, each keeping its own connection.

A client on a shared pool takes a connection from it for every command, and
redis-py then checks that the socket holds no stray reply (a non-blocking
peek: three system calls), counts the connection's state twice, and takes the
pool's lock twice. In the REST read benchmark that was an eighth of the
request threads' samples (py-spy). The threads that call Redis are long-lived
(the web process's request and message pools), so each keeps one connection
instead: a `single_connection_client`, which redis-py documents as safe only
in one thread; here no client is ever shared. A thread that ends gives its
connection back to the pool when its client is collected.

Failures are handled as before: the connection's retry policy reconnects after
a connection error, and a timeout disconnects it. A forked child (a Celery
worker) starts with no clients: it must not write on its parent's sockets.
"""

from __future__ import annotations

import os
import threading
import weakref

import redis


class ThreadClients:
    """`get()`: this thread's client on `pool`."""

    def __init__(self, pool: redis.ConnectionPool) -> None:
        self.pool = pool
        self.local = threading.local()
        forget = weakref.WeakMethod(self.forget)
        os.register_at_fork(after_in_child=lambda: (method := forget()) is not None and method())

    def forget(self) -> None:
        """Drop every thread's client (the pool, checking its pid, starts afresh too)."""
        self.local = threading.local()

    def get(self) -> redis.Redis:
        client: redis.Redis | None = getattr(self.local, "client", None)
        if client is None:
            # Connects now: with Redis down this raises redis' ConnectionError, as a command would.
            client = self.local.client = redis.Redis(connection_pool=self.pool, single_connection_client=True)
        return client
