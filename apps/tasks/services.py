from __future__ import annotations

import datetime as dt

from celery import current_app
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from apps.feeders.services.devices import pairing_and_tokens_purge
from apps.feeders.services.pets import history_purge
from apps.tasks.models import JobRun
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


def housekeeping_run(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Delete what has outlived its use; returns how many of each."""
    now = now or timezone.now()
    sessions, _ = Session.objects.filter(expire_date__lt=now).delete()  # browser sessions and app tokens
    removed = {"sessions": sessions}
    removed |= pairing_and_tokens_purge(now=now)
    removed |= history_purge(before=now - dt.timedelta(days=settings.RETENTION_DAYS))
    return removed


def job_run_started(*, task: str, now: dt.datetime | None = None) -> None:
    JobRun.objects.update_or_create(
        task=task, defaults={"last_started_at": now or timezone.now(), "last_status": "running"}
    )


def job_run_finished(*, task: str, ok: bool, result: str, now: dt.datetime | None = None) -> None:
    """The admin's "last run / last result" of a periodic job."""
    JobRun.objects.update_or_create(task=task, defaults={"last_finished_at": now or timezone.now()})
    JobRun.objects.filter(task=task).update(
        last_status="ok" if ok else "failed",
        last_result=result[:2000],
        runs=F("runs") + 1,
        failures=F("failures") + (0 if ok else 1),
    )


def periodic_job_run_now(*, task: PeriodicTask) -> str:
    """Send a periodic job's task once, now, to its queue; beat's schedule is unchanged."""
    current_app.send_task(task.task, queue=task.queue or None, headers={"periodic_task_name": task.name})
    return str(task.name)
