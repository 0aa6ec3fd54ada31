"""Filters of the LOGGING config (catfeeder.runtime.logs): what the console and files leave out.

Imported by the settings: it must not import Django models.
"""

from __future__ import annotations

import logging

from celery.app.trace import LOG_RECEIVED, LOG_SUCCESS

QUIET_EVERY = 10  # seconds: Celery's routine lines about periodic jobs run more often than this are dropped
CELERY_ROUTINE = ("celery.beat", "celery.worker.strategy", "celery.app.trace")


class QuietTicks(logging.Filter):
    """Drop the INFO lines Celery writes for every run of a job that ticks every second or so.

    The meal dispatcher and the reconciler run every second: "Sending due task",
    "received" and "succeeded" three times a second would bury everything else.
    The jobs log what they did themselves when they did something, failures
    (WARNING and up) always pass, and the admin keeps each job's last result.
    """

    def __init__(self) -> None:
        super().__init__()
        self._tasks: tuple[str, ...] | None = None

    def tasks(self) -> tuple[str, ...]:
        if self._tasks is None:
            from apps.tasks.periodic import periodic_jobs

            self._tasks = tuple(job.task for job in periodic_jobs() if job.every < QUIET_EVERY)
        return self._tasks

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING or not record.name.startswith(CELERY_ROUTINE):
            return True
        message = record.getMessage()
        return not any(task in message for task in self.tasks())


class RoutineTasks(logging.Filter):
    """Celery's lines for a task received and a task succeeded: one short DEBUG line per task.

    Celery writes both at INFO with the task's whole context (arguments, return
    value) attached as `data`, which the JSON and console renderers show in
    full. On the loggers that write them (a logger's filter runs before its
    level reaches the handlers): "received" is dropped, the "done" line says
    it; "succeeded" is dropped unless DEBUG is on, then shortened. Failures and
    retries keep their level and context.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.INFO or record.msg not in (LOG_RECEIVED, LOG_SUCCESS):
            return True
        if record.msg == LOG_RECEIVED or not logging.getLogger(record.name).isEnabledFor(logging.DEBUG):
            return False
        task = getattr(record, "data", None) or {}
        record.msg, record.args = (
            "task %s[%s] done in %.3fs",
            (task.get("name"), task.get("id"), task.get("runtime", 0)),
        )
        record.__dict__.pop("data", None)
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return True


class RequestLoggedOnce(logging.Filter):
    """Django's "Conflict: /api/..." line for every answer of 400 and up, dropped: the request line
    (apps.ops.web) says it already. A record carrying a traceback (an unhandled error) stays."""

    def filter(self, record: logging.LogRecord) -> bool:
        return bool(record.exc_info)


UVICORN_ACCEPTED = '%s - "WebSocket %s" [accepted]'  # uvicorn's line for every socket it accepts
QUIET_SOCKET_PATHS = ("/ws/device/",)


class QuietDeviceSockets(logging.Filter):
    """uvicorn's "[accepted]" line for every device socket, dropped.

    A fleet reconnecting after a restart wrote ten thousand of them, formatted and
    written twice (console and file) on the event loop every sign-in waits for. The open
    device sockets are counted in the instance's registry and /metrics; refusals (403)
    and owners' sockets keep their lines.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg != UVICORN_ACCEPTED or not isinstance(record.args, tuple) or len(record.args) != 2:
            return True
        return not str(record.args[1]).startswith(QUIET_SOCKET_PATHS)
