from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from catfeeder.settings.catalog import setting_store, settings_effective
from catfeeder.settings.documents import REGENERATE, documents_stale, documents_write


class Command(BaseCommand):
    help = (
        "Show the effective settings and where each came from (environment, .env, default); store one in .env; "
        "write the files made from the declaration (.env.example, the configuration tables)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dump", action="store_true", help="print JSON instead of a table")
        parser.add_argument("--store", metavar="KEY=VALUE", help="validate the value, then write it to .env")
        parser.add_argument("--env-file", type=Path, default=None, help="the .env file (default: BASE_DIR/.env)")
        parser.add_argument(
            "--write-docs", action="store_true", help="rewrite .env.example and the configuration tables"
        )
        parser.add_argument(
            "--check-docs", action="store_true", help="fail if .env.example or a configuration table is out of date"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["write_docs"] or options["check_docs"]:
            self.documents(write=options["write_docs"])
            return
        env_file = options["env_file"] or Path(settings.BASE_DIR) / ".env"
        if options["store"]:
            self.store(env_file, options["store"])
            return
        rows = settings_effective(env_file=env_file)
        if options["dump"]:
            data = {row.name: {"value": row.value, "source": row.source} for row in rows}
            self.stdout.write(json.dumps(data, indent=2))
            return
        width = max(len(row.name) for row in rows)
        for row in rows:
            note = " (overrides .env)" if row.overrides_env_file else ""
            self.stdout.write(f"{row.name:<{width}}  {row.source:<11}  {row.value}{note}")

    def store(self, env_file: Path, assignment: str) -> None:
        name, sep, value = assignment.partition("=")
        if not sep:
            raise CommandError("--store takes KEY=VALUE")
        name = name.strip()
        before = {row.name: row for row in settings_effective(env_file=env_file)}
        try:
            setting_store(env_file=env_file, name=name, value=value)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"stored {name} in {env_file}; processes read it when they start")
        if name in before and before[name].source == "environment":
            self.stdout.write(f"note: the environment sets {name} too, and the environment wins")

    def documents(self, *, write: bool) -> None:
        base_dir = Path(settings.BASE_DIR)
        try:
            changed = documents_write(base_dir) if write else documents_stale(base_dir)
        except ValueError as exc:  # a file lost its markers
            raise CommandError(str(exc)) from None
        names = ", ".join(str(path.relative_to(base_dir)) for path in changed)
        if write:
            self.stdout.write(f"wrote {names}" if changed else "every generated file was up to date")
        elif changed:
            raise CommandError(f"out of date with catfeeder/settings/variables.py: {names}; run `{REGENERATE}`")
