"""Celery hooks: workers announce themselves; tasks carry the correlation id and are counted.

Beat announces itself when it takes its lock (apps.tasks.beat).

Connected from `OpsConfig.ready()`, so in every process that sets Django up.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import signals
from redis import RedisError

from apps.ops.correlation import HEADER, correlation_id_get, correlation_reset, correlation_set, new_correlation_id
from apps.ops.metrics import task_observe
from apps.ops.services import worker_record

logger = logging.getLogger(__name__)

_tokens: dict[str, Any] = {}  # task id -> context token, reset after the task


@signals.setup_logging.connect
def keep_django_logging(**kwargs: Any) -> None:
    """Connected, so Celery leaves logging alone: Django's LOGGING (structlog, files) stays in charge."""


@signals.before_task_publish.connect
def add_correlation_header(headers: dict[str, Any] | None = None, **kwargs: Any) -> None:
    if headers is not None and (value := correlation_id_get()) is not None:
        headers.setdefault(HEADER, value)


@signals.task_prerun.connect
def bind_correlation_id(task_id: str | None = None, task: Any = None, **kwargs: Any) -> None:
    request = getattr(task, "request", None)
    value = getattr(request, HEADER, None)
    if task_id:
        _tokens[task_id] = correlation_set(value or new_correlation_id())


@signals.task_postrun.connect
def count_task(task: Any = None, state: str | None = None, **kwargs: Any) -> None:
    task_observe(task=getattr(task, "name", None) or "unknown", state=state or "unknown")


@signals.task_postrun.connect
def unbind_correlation_id(task_id: str | None = None, **kwargs: Any) -> None:
    token = _tokens.pop(task_id or "", None)
    if token is not None:
        try:
            correlation_reset(token)
        except ValueError:
            correlation_set(None)  # a token from another context: clear instead


@signals.worker_ready.connect
def announce_worker(sender: Any = None, **kwargs: Any) -> None:
    try:
        worker_record(hostname=sender.hostname)
    except RedisError as exc:  # the registry is a convenience: the worker starts with Redis down too
        logger.warning("cannot register the worker: %s", exc)


@signals.worker_shutdown.connect
def announce_worker_stopped(sender: Any = None, **kwargs: Any) -> None:
    hostname = getattr(sender, "hostname", None)
    if hostname:
        try:
            worker_record(hostname=hostname, stopped=True)
        except RedisError as exc:  # nor does a worker's stop wait on the registry
            logger.warning("cannot mark the worker stopped: %s", exc)
