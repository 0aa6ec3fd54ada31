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
        # The meal ticks live in apps.feeders.tasks under the names beat stored when they lived here.
        PeriodicJob(
            name="meal dispatcher",
            task="apps.tasks.tasks.meal_slots_dispatch_task",
            every=settings.MEAL_DISPATCH_INTERVAL,
            description="Turns due meal slots into feed commands (one per slot) and delivers them to online feeders.",
        ),
        PeriodicJob(
            name="feed command reconciler",
            task="apps.tasks.tasks.feed_commands_reconcile_task",
            every=settings.COMMAND_RECONCILE_INTERVAL,
            description="Sends unanswered commands again; expires stale ones; a slot never sent in time is missed.",
        ),
        PeriodicJob(
            name="alerts check",
            task="apps.tasks.tasks.alerts_check_task",
            every=settings.ALERT_CHECK_INTERVAL,
            description="Marks silent feeders offline; opens and closes offline and low-food alerts (one mail each).",
        ),
        PeriodicJob(
            name="housekeeping",
            task="apps.tasks.tasks.housekeeping_task",
            every=settings.HOUSEKEEPING_INTERVAL,
            description="Deletes expired sessions, pairing codes, dead device tokens and history past RETENTION_DAYS.",
        ),
        PeriodicJob(
            name="held mail requeue",
            task="apps.notifications.tasks.held_emails_requeue_task",
            every=60,
            description="Queues again the mails the broker refused when they were sent (held in the database).",
        ),
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
