"""One correlation id per HTTP request, per socket message and per task started from them.

The id lives in a context variable: the ASGI middleware sets it for each
request and each socket connection, `CorrelatedConsumerMixin` for each socket
message, and Celery carries it in a message header to the task it starts
(see `apps.ops.celery_signals`). Every log line shows it (`catfeeder.runtime.logs`).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

HEADER = "catfeeder_correlation_id"  # Celery message header ("correlation_id" is Celery's own: the task id)
HTTP_HEADER = "x-request-id"
LOG_FIELDS = "catfeeder.log"  # ASGI scope extension: a dict of fields for this request's log line
_VALID = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")  # what we accept from a client or a proxy

_correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)


def new_correlation_id() -> str:
    return uuid.uuid4().hex


def correlation_id_get() -> str | None:
    return _correlation_id.get()


def correlation_id_from_client(value: str | None) -> str:
    """Keep a well-formed id sent by a client or proxy (X-Request-ID); make one otherwise."""
    return value if value and _VALID.match(value) else new_correlation_id()


@contextmanager
def correlation_scope(correlation_id: str | None = None) -> Iterator[str]:
    value = correlation_id or new_correlation_id()
    token = _correlation_id.set(value)
    try:
        yield value
    finally:
        _correlation_id.reset(token)


def correlation_set(value: str | None) -> Any:
    """Set without a scope (Celery's prerun/postrun pair); returns the token for `correlation_reset`."""
    return _correlation_id.set(value)


def correlation_reset(token: Any) -> None:
    _correlation_id.reset(token)


class CorrelatedConsumerMixin:
    """For Channels consumers: each incoming socket message gets its own correlation id.

    `dispatch` runs in the consumer's own task, once per message, so the id
    set here is seen by the handler, its log lines and the tasks it enqueues.
    """

    async def dispatch(self, message: dict[str, Any]) -> None:
        with correlation_scope():
            await super().dispatch(message)  # type: ignore[misc]
