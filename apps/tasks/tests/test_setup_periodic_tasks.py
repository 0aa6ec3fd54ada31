from __future__ import annotations

import pytest
from django.core.management import call_command
from django_celery_beat.models import PeriodicTask

from apps.tasks.periodic import periodic_jobs

pytestmark = pytest.mark.django_db


def test_it_declares_every_job_once_however_often_it_runs() -> None:
    call_command("setup_periodic_tasks", verbosity=0)
    call_command("setup_periodic_tasks", verbosity=0)
    names = sorted(PeriodicTask.objects.values_list("name", flat=True))
    assert names == sorted(job.name for job in periodic_jobs())


def test_it_keeps_an_operators_off_switch() -> None:
    call_command("setup_periodic_tasks", verbosity=0)
    PeriodicTask.objects.filter(name="beat heartbeat").update(enabled=False)
    call_command("setup_periodic_tasks", verbosity=0)
    assert PeriodicTask.objects.get(name="beat heartbeat").enabled is False


def test_the_heartbeat_runs_on_its_interval() -> None:
    call_command("setup_periodic_tasks", verbosity=0)
    task = PeriodicTask.objects.get(name="beat heartbeat")
    assert task.task == "apps.tasks.tasks.beat_heartbeat_task"
    assert task.interval is not None
    assert task.interval.every == 10
