from __future__ import annotations

import contextlib
import io
import json
import logging
import logging.config
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import structlog
from celery.app import trace
from django.conf import settings

from catfeeder.runtime.logs import logging_config


@pytest.fixture
def streams(tmp_path: Any) -> Iterator[tuple[io.StringIO, io.StringIO]]:
    """The project's LOGGING for production (JSON console and files), both handlers on streams of ours."""
    config = logging_config(level="INFO", log_dir=tmp_path, console="json", file_bytes=10**6, total_bytes=10**7)
    first, second = io.StringIO(), io.StringIO()
    config["handlers"] = {
        "one": {**config["handlers"]["console"], "stream": first},
        "two": {**config["handlers"]["console"], "stream": second},
    }
    config["root"]["handlers"] = ["one", "two"]
    logging.config.dictConfig(config)
    try:
        yield first, second
    finally:
        logging.config.dictConfig(settings.LOGGING)  # the test run's own


def test_a_record_is_formatted_once_for_every_handler_sharing_the_formatter(
    streams: tuple[io.StringIO, io.StringIO],
) -> None:
    with mock.patch.object(structlog.stdlib.ProcessorFormatter, "format", autospec=True,
                           side_effect=structlog.stdlib.ProcessorFormatter.format) as formatting:  # fmt: skip
        logging.getLogger("apps.ops.web").info("GET %s %s", "/api/feeders", 200, extra={"status": 200})
        logging.getLogger("apps.ops.web").info("GET %s %s", "/api/pets", 200, extra={"status": 200})
    first, second = (json.loads(line) for line in streams[0].getvalue().splitlines()), streams[1].getvalue()
    assert formatting.call_count == 2  # one per record, not one per record and handler
    assert streams[0].getvalue() == second
    assert [(e["event"], e["status"]) for e in first] == [("GET /api/feeders 200", 200), ("GET /api/pets 200", 200)]


@contextlib.contextmanager
def console(tmp_path: Path, level: str) -> Iterator[list[dict[str, Any]]]:
    """The project's LOGGING at `level`, its console on a stream of ours; yields the records written, parsed."""
    config = logging_config(level=level, log_dir=tmp_path, console="json", file_bytes=10**6, total_bytes=10**7)
    stream = io.StringIO()
    config["handlers"] = {"console": {**config["handlers"]["console"], "stream": stream}}
    config["root"]["handlers"] = ["console"]
    logging.config.dictConfig(config)
    records: list[dict[str, Any]] = []
    try:
        yield records
    finally:
        records[:] = [json.loads(line) for line in stream.getvalue().splitlines()]
        logging.config.dictConfig(settings.LOGGING)


TASK = {"id": "0f1e2d3c", "name": "apps.feeders.tasks.feed_commands_deliver_task", "args": [[41, 42]],
        "kwargs": {"resend": False}, "runtime": 0.0123, "return_value": {"sent": 2}}  # fmt: skip


def celery_task_lines() -> None:
    """What a worker writes for a task received, succeeded and failed, through Celery's own logging call."""
    trace.info(trace.LOG_RECEIVED, TASK)
    trace.info(trace.LOG_SUCCESS, TASK)
    logging.getLogger("celery.app.trace").error("Task %(name)s[%(id)s] raised", TASK, extra={"data": TASK})


def test_routine_task_lines_are_left_out_at_info_and_failures_kept_whole(tmp_path: Path) -> None:
    with console(tmp_path, "INFO") as records:
        celery_task_lines()
    [failure] = records
    assert failure["level"] == "error"
    assert failure["data"]["args"] == [[41, 42]]


def test_a_routine_task_is_one_short_debug_line_at_debug(tmp_path: Path) -> None:
    with console(tmp_path, "DEBUG") as records:
        celery_task_lines()
    done, failure = records  # "received": the "done" line says it
    assert (done["level"], done["event"]) == ("debug", f"task {TASK['name']}[0f1e2d3c] done in 0.012s")
    assert "data" not in done
    assert failure["level"] == "error"


def test_djangos_line_for_a_refused_request_is_left_to_the_request_line(tmp_path: Path) -> None:
    with console(tmp_path, "INFO") as records:
        logging.getLogger("django.request").warning("Conflict: %s", "/api/feeders/1/feed")
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            logging.getLogger("django.request").exception("Internal Server Error: %s", "/pets/")
    [error] = records
    assert error["event"] == "Internal Server Error: /pets/"
    assert "RuntimeError: boom" in error["exception"]


def test_uvicorns_server_lines_are_named_uvicorn(tmp_path: Path) -> None:
    with console(tmp_path, "INFO") as records:
        logging.getLogger("uvicorn.error").info("Started server process [%d]", 1234)
    [line] = records
    assert (line["logger"], line["event"]) == ("uvicorn", "Started server process [1234]")


def test_uvicorns_line_per_device_socket_is_left_out_and_refusals_and_owners_sockets_kept(tmp_path: Path) -> None:
    uvicorn = logging.getLogger("uvicorn.error")
    with console(tmp_path, "INFO") as records:
        uvicorn.info('%s - "WebSocket %s" [accepted]', "127.0.0.1:5000", "/ws/device/")
        uvicorn.info('%s - "WebSocket %s" [accepted]', "127.0.0.1:5001", "/ws/app/")
        uvicorn.info('%s - "WebSocket %s" 403', "127.0.0.1:5002", "/ws/device/")
    assert [line["event"] for line in records] == [
        '127.0.0.1:5001 - "WebSocket /ws/app/" [accepted]',
        '127.0.0.1:5002 - "WebSocket /ws/device/" 403',
    ]
