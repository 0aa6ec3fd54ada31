from __future__ import annotations

import json
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from apps.ops.health import worst_status
from apps.ops.reports import EXIT_CODES, health_json, health_run, status_table


class Command(BaseCommand):
    help = "Check every service once and print the registry. Exit 0 all ok, 1 something degraded, 2 something down."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="print application/health+json instead of a table")
        parser.add_argument("--no-record", action="store_true", help="do not store the statuses in the database")

    def handle(self, *args: Any, **options: Any) -> None:
        results = health_run(record=not options["no_record"])
        if options["json"]:
            self.stdout.write(json.dumps(health_json(results), indent=2))
        else:
            self.stdout.write(status_table(results), ending="")
        code = EXIT_CODES[worst_status(results)]
        if code:
            sys.exit(code)
