"""The photo tasks: what beat runs exists, and a task for a vanished photo does nothing."""

from __future__ import annotations

import pytest

from apps.feeders.tasks import photo_thumbnails_task
from apps.tasks.periodic import periodic_jobs
from catfeeder.celery import app


def test_every_periodic_job_names_a_task_the_worker_knows() -> None:
    app.loader.import_default_modules()  # what a worker imports at start-up
    for job in periodic_jobs():
        assert job.task in app.tasks, job.name
    assert {"photo orphans", "photo thumbnails requeue"} <= {job.name for job in periodic_jobs()}


@pytest.mark.django_db
@pytest.mark.usefixtures("eager_tasks")
def test_the_thumbnail_task_of_a_deleted_photo_does_nothing() -> None:
    assert photo_thumbnails_task.apply(args=[987654]).successful()
