from __future__ import annotations

from datetime import UTC
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from catfeeder.runtime.logs import LEVELS, PROCESSES, LogRecord, logs_read, parse_span

SHOWN_FIRST = ("timestamp", "level", "event", "process", "pid", "logger", "correlation_id")


def line_for_people(record: LogRecord) -> str:
    extra = " ".join(f"{k}={v}" for k, v in record.fields.items() if k not in SHOWN_FIRST)
    correlation = record.fields.get("correlation_id")
    parts = [
        record.at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3],
        f"{record.process}[{record.fields.get('pid', '?')}]",
        f"{record.level:<8}",
        record.event,
        extra,
        f"(correlation {correlation})" if correlation else "",
    ]
    return " ".join(p for p in parts if p)


class Command(BaseCommand):
    help = "Show log records from var/log by time window: --back 1d --count 100 [--process web] [--level warning]."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--back", default="1h", help="how far back: 30s, 15m, 2h, 1d, 1w (default 1h)")
        parser.add_argument("--count", type=int, default=100, help="at most this many, the latest (0: all)")
        parser.add_argument("--process", choices=PROCESSES, help="only this process's records")
        parser.add_argument("--level", choices=list(LEVELS), help="only records at this level or above")
        parser.add_argument("--json", action="store_true", help="print the JSON lines as stored")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            since = timezone.now() - parse_span(options["back"])
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        if options["count"] < 0:
            raise CommandError("--count must be 0 or more")
        records = logs_read(
            log_dir=settings.LOG_DIR,
            since=since,
            count=options["count"],
            process=options["process"],
            level=options["level"],
        )
        for record in records:
            self.stdout.write(record.raw if options["json"] else line_for_people(record))
