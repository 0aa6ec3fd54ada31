"""This web process as an instance of the web service: identity, sockets, drain.

One `WebInstance` per process, created on first use. The ASGI middleware
(`catfeeder.runtime.middleware`) counts requests through it (into `apps.ops.metrics`) and
tracks open WebSockets in it; the runner (`catfeeder.runtime.webserver`) publishes it to Redis on every heartbeat and
drains it on command; `/health/ready` reads `draining` from it.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.conf import settings

from apps.ops.metrics import http_request_observe

Send = Callable[[dict[str, Any]], Awaitable[None]]
GROUP = "ops.web"  # the channel-layer group every web instance listens on for drain commands


@dataclass
class OpenSocket:
    path: str
    send: Send  # the server's own send: closing through it bypasses the app
    opened_at: float = field(default_factory=time.time)
    closed_by_us: bool = False


class WebInstance:
    def __init__(self) -> None:
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self.id = f"{self.host}:{self.pid}:{uuid.uuid4().hex[:6]}"
        self.version = settings.CATFEEDER_VERSION
        self.started_at = datetime.now(UTC)
        self.channel_name = ""  # set by the runner once it listens on the channel layer
        self.draining = False
        self.drain_reason = ""
        self.in_flight = 0
        self.sockets: dict[int, OpenSocket] = {}
        self.sockets_refused = 0

    def observe_request(self, *, method: str, status: int, seconds: float) -> None:
        http_request_observe(instance=self.id, method=method, status=status, seconds=seconds)

    def start_draining(self, reason: str) -> bool:
        """Readiness turns 503 and new sockets are refused from now on. False if already draining."""
        if self.draining:
            return False
        self.draining, self.drain_reason = True, reason
        return True

    def snapshot(self) -> dict[str, Any]:
        """What the registry keeps about this instance (JSON-ready)."""
        return {
            "id": self.id,
            "host": self.host,
            "pid": self.pid,
            "version": self.version,
            "started_at": self.started_at.isoformat(),
            "heartbeat_at": datetime.now(UTC).isoformat(),
            "channel": self.channel_name,
            "draining": self.draining,
            "drain_reason": self.drain_reason,
            "sockets": len(self.sockets),
            "sockets_refused": self.sockets_refused,
            "in_flight": self.in_flight,
        }


_current: WebInstance | None = None


def current_instance() -> WebInstance:
    global _current  # noqa: PLW0603 - one instance per process, by design
    if _current is None:
        _current = WebInstance()
    return _current
