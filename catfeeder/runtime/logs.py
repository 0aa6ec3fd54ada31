"""Structured logging: JSON lines in var/log under a total size cap, readable console output.

Every process (web, worker, beat, manage) writes its own files,
`<process>.<start time>.<pid>.jsonl`, and starts a new one past
`LOG_FILE_BYTES`. Whenever a file is started, the oldest files of *all*
processes are deleted until the folder fits in `LOG_MAX_BYTES`, so the cap
holds however many processes write there. The console shows the same events
for people (structlog's ConsoleRenderer) in development, JSON in production.

This module is imported by the settings: it must not import Django models.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

import structlog

from catfeeder.runtime.log_filters import QuietDeviceSockets, QuietTicks, RequestLoggedOnce, RoutineTasks

SUFFIX = ".jsonl"
PROCESSES = ("web", "worker", "beat", "manage")
LINK_CHECK_EVERY = 200  # records between checks that another process has not deleted our file


def process_name(argv: list[str] | None = None) -> str:
    """web, worker, beat or manage: the role of this process, for its log files."""
    if os.environ.get("CATFEEDER_PROCESS"):
        return os.environ["CATFEEDER_PROCESS"]
    args = " ".join(argv if argv is not None else sys.argv)
    if "celery" in args:
        return "beat" if " beat" in args else "worker"
    if "uvicorn" in args or "webserver" in args or " runserver" in args:
        return "web"
    return "manage"


# -- structlog --------------------------------------------------------------
def _add_process(logger: Any, method: str, event: dict[str, Any]) -> dict[str, Any]:
    event.setdefault("process", process_name())
    event.setdefault("pid", os.getpid())
    return event


def _add_correlation_id(logger: Any, method: str, event: dict[str, Any]) -> dict[str, Any]:
    from apps.ops.correlation import correlation_id_get

    if (value := correlation_id_get()) is not None:
        event.setdefault("correlation_id", value)
    return event


# uvicorn writes its server's lines (started, stopped, errors in the app) to "uvicorn.error",
# whatever their level: they are shown under the name of what they are.
LOGGER_NAMES = {"uvicorn.error": "uvicorn"}


def _rename_logger(logger: Any, method: str, event: dict[str, Any]) -> dict[str, Any]:
    name = event.get("logger")
    if name in LOGGER_NAMES:
        event["logger"] = LOGGER_NAMES[name]
    return event


def _drop_noise(logger: Any, method: str, event: dict[str, Any]) -> dict[str, Any]:
    event.pop("color_message", None)  # uvicorn's ANSI twin of the message
    return event


def shared_processors() -> list[Any]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        _rename_logger,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _add_process,
        _add_correlation_id,
        structlog.stdlib.PositionalArgumentsFormatter(),
        structlog.stdlib.ExtraAdder(),
        _drop_noise,
    ]


def structlog_configure() -> None:
    """Route structlog loggers through the stdlib handlers that LOGGING sets up."""
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared_processors(),
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


class OncePerRecordFormatter(structlog.stdlib.ProcessorFormatter):
    """structlog's formatter, run once for a record however many handlers share it.

    In production the console and the files both write JSON through one
    formatter, and each request's log line was built twice: about a tenth of
    the web process's event-loop time in the REST read benchmark. The last
    record and its text are kept per thread (handlers may run on several).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.last = threading.local()

    def format(self, record: logging.LogRecord) -> str:
        last = getattr(self.last, "pair", None)
        if last is not None and last[0] is record:
            return str(last[1])
        text = super().format(record)
        self.last.pair = (record, text)
        return text


def _formatter(renderer: Any) -> dict[str, Any]:
    return {
        "()": OncePerRecordFormatter,
        "foreign_pre_chain": shared_processors(),
        "processors": [
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    }


def logging_config(
    *, level: str, log_dir: Path, console: str, file_bytes: int, total_bytes: int, to_files: bool = True
) -> dict[str, Any]:
    """A dictConfig for Django's LOGGING: console (dev or json) and capped JSON files."""
    handlers: dict[str, Any] = {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "dev" if console == "dev" else "json",
            "filters": ["quiet_ticks"],
        },
    }
    if to_files:
        handlers["files"] = {
            "()": CappedFileHandler,
            "log_dir": str(log_dir),
            "file_bytes": file_bytes,
            "total_bytes": total_bytes,
            "formatter": "json",
            "filters": ["quiet_ticks"],
        }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "quiet_ticks": {"()": QuietTicks},
            "routine_tasks": {"()": RoutineTasks},
            "request_once": {"()": RequestLoggedOnce},
            "quiet_device_sockets": {"()": QuietDeviceSockets},
        },
        "formatters": {
            "dev": _formatter(structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())),
            "json": _formatter(structlog.processors.JSONRenderer(sort_keys=False)),
        },
        "handlers": handlers,
        "root": {"handlers": list(handlers), "level": level},
        "loggers": {
            "django.db.backends": {"level": "INFO"},
            # A refused connection retried every second is one story, not one warning per second.
            "channels_redis": {"level": "ERROR"},
            "celery.app.trace": {"filters": ["routine_tasks"]},  # "succeeded"
            "celery.worker.strategy": {"filters": ["routine_tasks"]},  # "received"
            "django.request": {"filters": ["request_once"]},
            "uvicorn.error": {"filters": ["quiet_device_sockets"]},
        },
    }


# -- files under a total cap ------------------------------------------------
def log_files(log_dir: Path, process: str | None = None) -> list[Path]:
    """The log files, oldest first (by last write)."""
    pattern = f"{process}.*{SUFFIX}" if process else f"*{SUFFIX}"
    files = []
    for path in Path(log_dir).glob(pattern):
        with contextlib.suppress(FileNotFoundError):
            files.append((path.stat().st_mtime, path))
    return [path for _, path in sorted(files)]


def enforce_cap(log_dir: Path, total_bytes: int, *, keep: Path | None = None) -> list[Path]:
    """Delete the oldest files (of any process) until the folder fits; returns what went."""
    sized = []
    for path in log_files(log_dir):
        with contextlib.suppress(FileNotFoundError):
            sized.append((path, path.stat().st_size))
    total = sum(size for _, size in sized)
    deleted = []
    for path, size in sized:
        if total <= total_bytes:
            break
        if path == keep:
            continue
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
            deleted.append(path)
        total -= size
    return deleted


class CappedFileHandler(logging.Handler):
    """JSON lines in files of at most `file_bytes`; the whole folder stays under `total_bytes`."""

    def __init__(self, log_dir: str, file_bytes: int, total_bytes: int, level: int = logging.NOTSET) -> None:
        super().__init__(level)
        self.log_dir = Path(log_dir)
        self.file_bytes = file_bytes
        self.total_bytes = total_bytes
        self.stream: TextIO | None = None
        self.path: Path | None = None
        self.size = 0
        self.since_check = 0

    def _open(self) -> TextIO:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        self.path = self.log_dir / f"{process_name()}.{stamp}.{os.getpid()}{SUFFIX}"
        self.stream = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - kept open until rollover
        self.size = 0
        # Room for the file just opened to grow to its full size: the cap then holds
        # for this process; other processes' open files add at most one file each.
        enforce_cap(self.log_dir, self.total_bytes - self.file_bytes, keep=self.path)
        return self.stream

    def _deleted_under_us(self) -> bool:
        """True when another process's cap deleted our file: then start a new one."""
        self.since_check += 1
        if self.since_check < LINK_CHECK_EVERY or self.stream is None:
            return False
        self.since_check = 0
        return os.fstat(self.stream.fileno()).st_nlink == 0

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record) + "\n"
            # handle() holds self.lock around emit(): one writer per handler.
            stream = self.stream
            if stream is None or self.size + len(line) > self.file_bytes or self._deleted_under_us():
                self._close_stream()
                stream = self._open()
            stream.write(line)
            stream.flush()
            self.size += len(line.encode("utf-8", "replace"))
        except Exception:  # noqa: BLE001 - logging must never break the caller
            self.handleError(record)

    def _close_stream(self) -> None:
        if self.stream is not None:
            with contextlib.suppress(OSError):
                self.stream.close()
            self.stream = None

    def close(self) -> None:
        with self.lock:  # type: ignore[union-attr]
            self._close_stream()
        super().close()


# -- reading ----------------------------------------------------------------
LEVELS = {"debug": 10, "info": 20, "warning": 30, "error": 40, "critical": 50}
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_span(text: str) -> timedelta:
    """'90s', '15m', '2h', '1d', '1w' (a bare number is seconds)."""
    text = text.strip().lower()
    unit = text[-1] if text and text[-1] in UNITS else "s"
    number = text[:-1] if text and text[-1] in UNITS else text
    try:
        value = float(number)
    except ValueError:
        raise ValueError(f"not a time span: {text!r} (use e.g. 30s, 15m, 2h, 1d)") from None
    if value < 0:
        raise ValueError(f"not a time span: {text!r}")
    return timedelta(seconds=value * UNITS[unit])


@dataclass(frozen=True)
class LogRecord:
    at: datetime
    level: str
    process: str
    event: str
    fields: dict[str, Any]
    raw: str


def _parse(line: str) -> LogRecord | None:
    try:
        data = json.loads(line)
        at = datetime.fromisoformat(str(data["timestamp"]).replace("Z", "+00:00"))
    except (ValueError, KeyError, TypeError):
        return None
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return LogRecord(
        at=at,
        level=str(data.get("level", "info")).lower(),
        process=str(data.get("process", "")),
        event=str(data.get("event", "")),
        fields=data,
        raw=line.rstrip("\n"),
    )


def logs_read(
    *, log_dir: Path, since: datetime, count: int, process: str | None = None, level: str | None = None
) -> list[LogRecord]:
    """The last `count` records since `since`, oldest first, across every file of the process(es)."""
    floor = LEVELS[level] if level else 0
    since_ts = since.timestamp()
    records: list[LogRecord] = []
    for path in log_files(log_dir, process):
        try:
            if path.stat().st_mtime < since_ts:
                continue  # nothing written there since
            lines: Iterator[str] = iter(path.read_text(encoding="utf-8", errors="replace").splitlines())
        except FileNotFoundError:
            continue  # deleted by the cap meanwhile
        for line in lines:
            record = _parse(line)
            if record and record.at >= since and LEVELS.get(record.level, 0) >= floor:
                records.append(record)
    records.sort(key=lambda r: r.at)
    return records[-count:] if count else records
