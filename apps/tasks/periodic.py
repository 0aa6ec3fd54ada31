"""Every periodic job of the project, declared in one place.

`manage.py setup_periodic_tasks` writes them to django-celery-beat's tables;
beat (DatabaseScheduler) runs them. Operators switch them on and off in the
admin, and a deploy keeps those switches.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    task: str
    every: int  # seconds
    description: str


def periodic_jobs() -> list[PeriodicJob]:
    return [
        PeriodicJob(
            name="beat heartbeat",
            task="apps.tasks.tasks.beat_heartbeat_task",
            every=settings.BEAT_HEARTBEAT_INTERVAL,
            description="Proves beat and a worker run; the status page reads its last tick.",
        ),
        PeriodicJob(
            name="service status record",
            task="apps.tasks.tasks.service_statuses_record_task",
            every=settings.OPS_STATUS_RECORD_INTERVAL,
            description="Runs every health check and records status changes, even when nobody looks.",
        ),
        # -- pet photos (issue 9) --
        PeriodicJob(
            name="photo thumbnails requeue",
            task="apps.feeders.tasks.photo_thumbnails_requeue_task",
            every=600,
            description="Queues again the thumbnails of photos pending over 10 min; a day pending is failed.",
        ),
        PeriodicJob(
            name="photo orphans",
            task="apps.feeders.tasks.photo_orphans_delete_task",
            every=3600,
            description="Deletes stored photo files that no photo row owns (older than an hour).",
        ),
    ]
