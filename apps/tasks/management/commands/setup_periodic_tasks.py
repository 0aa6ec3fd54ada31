from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from apps.tasks.periodic import periodic_jobs
from apps.tasks.services import periodic_jobs_apply


class Command(BaseCommand):
    help = "Write every periodic job to django-celery-beat (idempotent; keeps admin on/off switches)."

    def handle(self, *args: Any, **options: Any) -> None:
        for job, created in periodic_jobs_apply(jobs=periodic_jobs()):
            verb = "created" if created else "updated"
            self.stdout.write(f"{verb}: {job.name} ({job.task}, every {job.every}s)")
