from __future__ import annotations

import json
import logging
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.core.management import call_command

from catfeeder.runtime.logs import CappedFileHandler, enforce_cap, log_files, logs_read, parse_span


def write_lines(path: Path, records: list[dict[str, object]]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))


def at(seconds_ago: float) -> str:
    return (datetime.now(UTC) - timedelta(seconds=seconds_ago)).isoformat()


def test_the_total_size_cap_deletes_the_oldest_files_of_any_process_first(tmp_path: Path) -> None:
    for i, process in enumerate(["web", "worker", "beat", "web"]):
        path = tmp_path / f"{process}.2026{i}.{100 + i}.jsonl"
        path.write_bytes(b"x" * 400)
        os.utime(path, (time.time() - 100 + i, time.time() - 100 + i))
    deleted = enforce_cap(tmp_path, 1000)
    assert [p.name for p in deleted] == ["web.20260.100.jsonl", "worker.20261.101.jsonl"]
    assert sum(p.stat().st_size for p in log_files(tmp_path)) <= 1000


def test_the_handler_rolls_files_and_keeps_the_folder_under_the_cap(tmp_path: Path) -> None:
    handler = CappedFileHandler(str(tmp_path), file_bytes=2_000, total_bytes=6_000)
    handler.setFormatter(logging.Formatter('{"timestamp": "%(asctime)s", "event": "%(message)s"}'))
    logger = logging.getLogger("test.capped")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        for i in range(500):
            logger.warning("line %04d %s", i, "y" * 40)
    finally:
        logger.removeHandler(handler)
        handler.close()
    files = log_files(tmp_path)
    assert len(files) > 1
    assert sum(p.stat().st_size for p in files) <= 6_000
    assert all(p.stat().st_size <= 2_000 for p in files)
    assert "line 0499" in files[-1].read_text()  # the newest survive


def test_logs_are_read_by_time_window_process_and_level(tmp_path: Path) -> None:
    write_lines(tmp_path / "web.1.1.jsonl", [
        {"timestamp": at(3 * 86400), "level": "error", "event": "too old", "process": "web"},
        {"timestamp": at(3600), "level": "info", "event": "request", "process": "web"},
        {"timestamp": at(60), "level": "warning", "event": "slow", "process": "web"},
    ])  # fmt: skip
    write_lines(tmp_path / "worker.1.2.jsonl", [
        {"timestamp": at(30), "level": "error", "event": "task failed", "process": "worker"},
    ])  # fmt: skip
    since = datetime.now(UTC) - timedelta(days=1)
    assert [r.event for r in logs_read(log_dir=tmp_path, since=since, count=100)] == ["request", "slow", "task failed"]
    warnings = logs_read(log_dir=tmp_path, since=since, count=100, level="warning")
    assert [r.event for r in warnings] == ["slow", "task failed"]
    assert [r.event for r in logs_read(log_dir=tmp_path, since=since, count=100, process="web")] == ["request", "slow"]
    assert [r.event for r in logs_read(log_dir=tmp_path, since=since, count=1)] == ["task failed"]


def test_time_spans_read_as_people_write_them() -> None:
    assert parse_span("1d") == timedelta(days=1)
    assert parse_span("15m") == timedelta(minutes=15)
    assert parse_span("90") == timedelta(seconds=90)
    with pytest.raises(ValueError, match="not a time span"):
        parse_span("yesterday")


def test_the_logs_command_prints_the_latest_records(tmp_path: Path, settings: object, capsys: object) -> None:
    settings.LOG_DIR = tmp_path  # type: ignore[attr-defined]
    write_lines(tmp_path / "beat.1.3.jsonl", [
        {"timestamp": at(10), "level": "info", "event": "Sending due task", "process": "beat", "pid": 7},
        {"timestamp": at(5), "level": "warning", "event": "late", "process": "beat", "pid": 7, "correlation_id": "c1"},
    ])  # fmt: skip
    call_command("logs", "--back", "1d", "--count", "100", "--process", "beat", "--level", "warning")
    out = capsys.readouterr().out.strip().splitlines()  # type: ignore[attr-defined]
    assert len(out) == 1
    assert "beat[7] warning  late" in out[0]
    assert out[0].endswith("(correlation c1)")


def test_processes_write_json_lines_with_their_name_to_var_log(tmp_path: Path) -> None:
    import subprocess
    import sys

    from catfeeder.testing import BASE_DIR, process_env

    env = process_env(LOG_DIR=str(tmp_path), CATFEEDER_PROCESS="worker")
    code = "import django, logging; django.setup(); logging.getLogger('apps.x').warning('hello %s', 'there')"
    subprocess.run([sys.executable, "-c", code], env=env, cwd=BASE_DIR, check=True, timeout=60)
    [path] = log_files(tmp_path, "worker")
    record = json.loads(path.read_text().splitlines()[-1])
    assert record["event"] == "hello there"
    assert (record["level"], record["process"], record["logger"]) == ("warning", "worker", "apps.x")


def celery_record(logger: str, level: int, message: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord(logger, level, __file__, 1, message, args, None)


def test_celery_routine_lines_of_a_job_ticking_every_second_are_dropped_and_the_rest_kept() -> None:
    from catfeeder.runtime.log_filters import QuietTicks

    quiet = QuietTicks()
    dispatcher = "apps.tasks.tasks.meal_slots_dispatch_task"
    heartbeat = "apps.tasks.tasks.beat_heartbeat_task"  # every 10 s: its lines stay
    sending = "Scheduler: Sending due task %s (%s)"
    assert not quiet.filter(celery_record("celery.beat", logging.INFO, sending, "meal dispatcher", dispatcher))
    assert not quiet.filter(celery_record("celery.worker.strategy", logging.INFO, "Task %s[1] received", dispatcher))
    assert not quiet.filter(celery_record("celery.app.trace", logging.INFO, "Task %s[1] succeeded", dispatcher))
    assert quiet.filter(celery_record("celery.app.trace", logging.ERROR, "Task %s[1] raised", dispatcher))
    assert quiet.filter(celery_record("celery.beat", logging.INFO, sending, "beat heartbeat", heartbeat))
    assert quiet.filter(celery_record("apps.tasks.tasks", logging.INFO, "meal slots: %s", "3 queued"))
