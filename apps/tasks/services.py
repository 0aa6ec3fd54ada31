from __future__ import annotations

from django.db import transaction
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from apps.tasks.periodic import PeriodicJob


@transaction.atomic
def periodic_jobs_apply(*, jobs: list[PeriodicJob]) -> list[tuple[PeriodicJob, bool]]:
    """Create or update each job's PeriodicTask; returns (job, created) pairs.

    `enabled` is never written here, so an operator's on/off switch in the
    admin survives every deploy.
    """
    results = []
    for job in jobs:
        interval, _ = IntervalSchedule.objects.get_or_create(every=job.every, period=IntervalSchedule.SECONDS)
        _, created = PeriodicTask.objects.update_or_create(
            name=job.name,
            defaults={"task": job.task, "interval": interval, "crontab": None, "description": job.description},
        )
        results.append((job, created))
    return results
